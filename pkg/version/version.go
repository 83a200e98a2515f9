// Package version reports berth's own version beside the kube-scheduler it embeds.
package version

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	kubeversion "k8s.io/component-base/version"
)

// Berth is set at build time: -ldflags "-X github.com/berth-sched/berth/pkg/version.Berth=v0.1.0".
var Berth = "v0.0.0-dev"

// String is the one-line version: berth's, then the embedded kube-scheduler's
// (k8s.io/component-base/version, which the Makefile stamps with the pinned Kubernetes tag).
func String() string {
	return fmt.Sprintf("berth %s (kube-scheduler %s)", Berth, kubeversion.Get().GitVersion)
}

// InstallFlagHandler makes --version (and --version=true) print String instead of the
// upstream "Kubernetes vX" line. --version=raw keeps upstream's full build info, and any
// other value (upstream lets --version=vX.Y.Z override the reported version) is left to
// kube-scheduler's own handler.
func InstallFlagHandler(cmd *cobra.Command) {
	upstream := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if f := c.Flags().Lookup("version"); f != nil && f.Value.String() == "true" {
			fmt.Fprintln(c.OutOrStdout(), String())
			os.Exit(0)
		}
		if upstream != nil {
			return upstream(c, args)
		}
		return nil
	}
}
