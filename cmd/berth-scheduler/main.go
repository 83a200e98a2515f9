// Command berth-scheduler is the upstream kube-scheduler with berth's plugins compiled in.
// Every kube-scheduler flag works as upstream; pods opt in with
// spec.schedulerName: berth-scheduler when the configuration's profile uses that name.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as upstream
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream
	_ "k8s.io/component-base/metrics/prometheus/version"  // build version metric, as upstream
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/berth-sched/berth/pkg/plugins"
	"github.com/berth-sched/berth/pkg/version"
)

func main() {
	command := app.NewSchedulerCommand(plugins.SchedulerOptions()...)
	version.InstallFlagHandler(command)
	plugins.CheckConfigBeforeRun(command)
	os.Exit(cli.Run(command))
}
