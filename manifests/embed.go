// Package manifests carries berth's deployable configuration. The recommended scheduler
// configuration is embedded so that tests and `make run` use the very file the
// in-cluster deployment ships, not a copy.
package manifests

import "embed"

// SchedulerConfig is base/scheduler-config.yaml.
//
//go:embed base/scheduler-config.yaml
var SchedulerConfig []byte

// SchedulerName is the profile name the recommended configuration schedules under; pods
// opt in with spec.schedulerName: berth-scheduler.
const SchedulerName = "berth-scheduler"

// LeaseNamespace is where the recommended configuration keeps its leader-election lease.
const LeaseNamespace = "berth-system"

// Examples holds examples/*.yaml: the PriorityClass tiers and the demo workload.
//
//go:embed examples/*.yaml
var Examples embed.FS
