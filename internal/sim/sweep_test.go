package sim

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

func TestSweepSettingsReachTheDecodedProfile(t *testing.T) {
	cases := []struct {
		name   string
		config string
		flag   string
		check  func(t *testing.T, cfgYAML []byte)
	}{
		{"weight of a plugin berth's profile enables in multiPoint", string(manifests.SchedulerConfig), "PriorityPlacement.weight=4", func(t *testing.T, out []byte) {
			cfg, err := LoadConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			if w := weightOf(cfg.Profiles[0].Plugins.MultiPoint.Enabled, "PriorityPlacement"); w != 4 {
				t.Errorf("weight %d, want 4", w)
			}
		}},
		{"weight of an upstream default plugin in the default profile", DefaultConfig, "NodeResourcesBalancedAllocation.weight=7", func(t *testing.T, out []byte) {
			cfg, err := LoadConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			if w := weightOf(cfg.Profiles[0].Plugins.MultiPoint.Enabled, "NodeResourcesBalancedAllocation"); w != 7 {
				t.Errorf("weight %d, want 7", w)
			}
		}},
		{"berth plugin argument", string(manifests.SchedulerConfig), "QoSAwarePreemption.guaranteedPriorityGap=1000", func(t *testing.T, out []byte) {
			if !strings.Contains(string(out), "guaranteedPriorityGap: 1000") {
				t.Errorf("gap not set: %s", out)
			}
		}},
		{"nested upstream argument", DefaultConfig, "NodeResourcesFit.scoringStrategy.type=MostAllocated", func(t *testing.T, out []byte) {
			cfg, err := LoadConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, pc := range cfg.Profiles[0].PluginConfig {
				if pc.Name == "NodeResourcesFit" && !strings.Contains(fmtArgs(pc.Args), "MostAllocated") {
					t.Errorf("NodeResourcesFit args %s", fmtArgs(pc.Args))
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSweep(tc.flag, plugins.Registry())
			if err != nil {
				t.Fatal(err)
			}
			out, err := ApplySettings([]byte(tc.config), Grid([]Sweep{s})[0])
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}

func TestSweepRefusesWhatWouldNotTakeEffect(t *testing.T) {
	if _, err := ParseSweep("PriorityPlacment.weight=1", plugins.Registry()); err == nil || !strings.Contains(err.Error(), `unknown plugin "PriorityPlacment"`) {
		t.Errorf("misspelt plugin: %v", err)
	}
	if _, err := ParseSweep("PriorityPlacement=1", plugins.Registry()); err == nil {
		t.Error("no path accepted")
	}
	s, _ := ParseSweep("PriorityPlacement.weight=2", plugins.Registry())
	if _, err := ApplySettings([]byte(DefaultConfig), Grid([]Sweep{s})[0]); err == nil || !strings.Contains(err.Error(), "not enabled") {
		t.Errorf("plugin the default profile does not enable: %v", err)
	}
}

func TestSweepRefusesAWeightOutsideTheScorePluginRange(t *testing.T) {
	cases := []struct {
		flag    string
		refused string // the value named in the error; "" when the sweep is accepted
	}{
		{"PriorityPlacement.weight=0,1", "0"},
		{"PriorityPlacement.weight=2,-1", "-1"},
		{"NodeResourcesBalancedAllocation.weight=0x0", "0x0"},
		{"PriorityPlacement.weight=2147483648", "2147483648"},
		{"PriorityPlacement.weight=1,2147483647", ""},
		{"QoSAwarePreemption.guaranteedPriorityGap=0", ""},
	}
	for _, tc := range cases {
		t.Run(tc.flag, func(t *testing.T) {
			_, err := ParseSweep(tc.flag, plugins.Registry())
			if tc.refused == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range []string{tc.flag, "weight " + tc.refused + " ", "between 1 and 2147483647"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestGridIsTheCartesianProductInFlagOrder(t *testing.T) {
	a := Sweep{Plugin: "A", Path: "weight", Values: []string{"1", "2"}}
	b := Sweep{Plugin: "B", Path: "x", Values: []string{"p", "q", "r"}}
	g := Grid([]Sweep{a, b})
	if len(g) != 6 || g[0][0].Value != "1" || g[0][1].Value != "p" || g[1][1].Value != "q" || g[5][0].Value != "2" || g[5][1].Value != "r" {
		t.Errorf("grid %v", g)
	}
	if g := Grid(nil); len(g) != 1 || len(g[0]) != 0 {
		t.Errorf("no sweeps: %v", g)
	}
}

func weightOf(list []schedPlugin, name string) int32 {
	for _, p := range list {
		if p.Name == name {
			return p.Weight
		}
	}
	return -1
}

func fmtArgs(obj any) string { b, _ := json.Marshal(obj); return string(b) }
