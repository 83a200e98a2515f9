package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-sched/berth/pkg/version"
)

// The binary links component-base's verflag, whose --version (not a bool) sits in
// pflag.CommandLine, which cobra merges into every command; these cases failed on it.
func TestVersionFlagPrintsBerthsVersionAndNothingElse(t *testing.T) {
	for _, args := range [][]string{
		{"--version"},
		{"--version=true"},
		{"run", "--version"},
		{"explain", "--version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, err := berthSim(t, args...)
			if !errors.Is(err, ErrVersionShown) {
				t.Fatalf("err = %v, want ErrVersionShown (the caller exits 0 on it)", err)
			}
			if want := version.String() + "\n"; out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
		})
	}
}

func TestBareCommandPrintsHelp(t *testing.T) {
	out, _, err := berthSim(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage:", "berth-sim [command]", "run ", "explain ", "diff ", "--version"} {
		if !strings.Contains(out, want) {
			t.Errorf("help has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--version=raw") {
		t.Errorf("help lists verflag's --version (a kube-scheduler flag berth-sim does not answer):\n%s", out)
	}
}

func TestUnknownVersionValueIsAnError(t *testing.T) {
	_, _, err := berthSim(t, "--version=raw")
	if err == nil || errors.Is(err, ErrVersionShown) || !strings.Contains(err.Error(), "--version") {
		t.Fatalf("err = %v, want an error naming --version", err)
	}
}
