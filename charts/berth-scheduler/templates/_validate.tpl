{{/*
berth-scheduler's own validation of its plugins' arguments (pkg/apis/config), run at
`helm install` so a bad value fails there, with the message berth-scheduler would log
at startup, instead of in a crash-looping pod. values.schema.json checks types, int32
bounds, label syntax and unknown fields; what berth words itself is checked here, where
the message can be berth's. test/e2e/chart_test.go runs both on the same values and
requires the same message, so the two cannot drift. Defaults are berth's.
*/}}

{{/* The integer at key in map, or the default when the key is absent or null. */}}
{{- define "berth-scheduler.intOr" -}}
{{- $m := index . 0 -}}{{- $k := index . 1 -}}
{{- if and (kindIs "map" $m) (hasKey $m $k) (not (kindIs "invalid" (index $m $k))) -}}
{{- index $m $k | int64 -}}
{{- else -}}
{{- index . 2 -}}
{{- end -}}
{{- end }}

{{/* Whether key is set (present and not null) in map. */}}
{{- define "berth-scheduler.isSet" -}}
{{- $m := index . 0 -}}{{- $k := index . 1 -}}
{{- if and (kindIs "map" $m) (hasKey $m $k) (not (kindIs "invalid" (index $m $k))) }}true{{ end -}}
{{- end }}

{{/* One plugin's errors as berth reports them: "Plugin: e", or "Plugin: [e1, e2]". */}}
{{- define "berth-scheduler.pluginError" -}}
{{- $plugin := index . 0 -}}{{- $errs := index . 1 -}}
{{- if eq (len $errs) 1 -}}
{{- printf "%s: %s" $plugin (first $errs) -}}
{{- else -}}
{{- printf "%s: [%s]" $plugin (join ", " $errs) -}}
{{- end -}}
{{- end }}

{{- define "berth-scheduler.validate" -}}
{{- $all := list -}}
{{- $args := .Values.profile.pluginArgs -}}

{{- /* PriorityHeadroom (priorityheadroom_args.go) */ -}}
{{- $errs := list -}}
{{- $a := index $args "PriorityHeadroom" | default dict -}}
{{- $seen := dict -}}
{{- range $i, $r := ($a.reservations | default list) -}}
{{- $p := printf "args.reservations[%d]" $i -}}
{{- if include "berth-scheduler.isSet" (list $r "belowPriority") -}}
{{- $b := toString (int64 $r.belowPriority) -}}
{{- if hasKey $seen $b -}}
{{- $errs = append $errs (printf "%s.belowPriority: Duplicate value: %s" $p $b) -}}
{{- end -}}
{{- $_ := set $seen $b true -}}
{{- else -}}
{{- $errs = append $errs (printf "%s.belowPriority: Required value: the priority (any int32) below which pods are held back" $p) -}}
{{- end -}}
{{- $rp := $r.reservePercent | default dict -}}
{{- if not $rp -}}
{{- $errs = append $errs (printf "%s.reservePercent: Required value: at least one resource (pods, cpu, memory, ephemeral-storage, hugepages-<size> (e.g. hugepages-2Mi) or an extended resource (<domain>/<name>, outside kubernetes.io)) with a percent between 0 and 100" $p) -}}
{{- else -}}
{{- range $name := keys $rp | sortAlpha -}}
{{- $v := index $rp $name | int64 -}}
{{- if or (lt $v 0) (gt $v 100) -}}
{{- $errs = append $errs (printf "%s.reservePercent[%s]: Invalid value: %d: must be between 0 and 100" $p $name $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $errs }}{{ $all = append $all (include "berth-scheduler.pluginError" (list "PriorityHeadroom" $errs)) }}{{ end -}}

{{- /* PriorityTaints (prioritytaints_args.go) */ -}}
{{- $errs = list -}}
{{- $a = index $args "PriorityTaints" | default dict -}}
{{- $seen = dict -}}
{{- range $i, $r := ($a.rules | default list) -}}
{{- $p := printf "args.rules[%d]" $i -}}
{{- if not $r.key -}}
{{- $errs = append $errs (printf "%s.key: Required value: a taint key, e.g. berth.io/reserved" $p) -}}
{{- end -}}
{{- if not (include "berth-scheduler.isSet" (list $r "minPriority")) -}}
{{- $errs = append $errs (printf "%s.minPriority: Required value: the lowest pod priority (any int32) that may tolerate the taint" $p) -}}
{{- end -}}
{{- $kv := printf "%s=%s" ($r.key | default "") ($r.value | default "") -}}
{{- if hasKey $seen $kv -}}
{{- $errs = append $errs (printf "%s: Duplicate value: %q" $p $kv) -}}
{{- end -}}
{{- $_ := set $seen $kv true -}}
{{- end -}}
{{- if $errs }}{{ $all = append $all (include "berth-scheduler.pluginError" (list "PriorityTaints" $errs)) }}{{ end -}}

{{- /* PriorityPlacement (priorityplacement_args.go) */ -}}
{{- $errs = list -}}
{{- $a = index $args "PriorityPlacement" | default dict -}}
{{- $critical := include "berth-scheduler.intOr" (list $a "criticalPriority" 1000000) | int64 -}}
{{- $pack := include "berth-scheduler.intOr" (list $a "packBelowPriority" 1000) | int64 -}}
{{- if gt $pack $critical -}}
{{- $errs = append $errs (printf "args.packBelowPriority: Invalid value: %d: must be less than or equal to criticalPriority (%d), otherwise the pack and spread bands overlap" $pack $critical) -}}
{{- end -}}
{{- if $errs }}{{ $all = append $all (include "berth-scheduler.pluginError" (list "PriorityPlacement" $errs)) }}{{ end -}}

{{- /* QoSPlacement (qosplacement_args.go) */ -}}
{{- $errs = list -}}
{{- $a = index $args "QoSPlacement" | default dict -}}
{{- $pct := include "berth-scheduler.intOr" (list $a "maxMemoryLimitOvercommitPercent" 150) | int64 -}}
{{- if and (ne $pct 0) (or (lt $pct 100) (gt $pct 1000)) -}}
{{- $errs = append $errs (printf "args.maxMemoryLimitOvercommitPercent: Invalid value: %d: must be 0 (guard off) or between 100 and 1000" $pct) -}}
{{- end -}}
{{- if $errs }}{{ $all = append $all (include "berth-scheduler.pluginError" (list "QoSPlacement" $errs)) }}{{ end -}}

{{- /* QoSAwarePreemption (qosawarepreemption_args.go; the minCandidate fields by
       upstream's ValidateDefaultPreemptionArgs) */ -}}
{{- $errs = list -}}
{{- $a = index $args "QoSAwarePreemption" | default dict -}}
{{- $gap := include "berth-scheduler.intOr" (list $a "guaranteedPriorityGap" 0) | int64 -}}
{{- if lt $gap 0 -}}
{{- $errs = append $errs (printf "args.guaranteedPriorityGap: Invalid value: %d: must be >= 0 (0 turns the rule off)" $gap) -}}
{{- else if gt $gap 2000000000 -}}
{{- $errs = append $errs (printf "args.guaranteedPriorityGap: Invalid value: %d: must be <= 2000000000 (system-cluster-critical: pods at or above it ignore the gap, so a larger one means nothing more)" $gap) -}}
{{- end -}}
{{- $cost := $a.qosCost | default dict -}}
{{- $costs := list
      (list "bestEffort" (include "berth-scheduler.intOr" (list $cost "bestEffort" 1) | int64))
      (list "burstable" (include "berth-scheduler.intOr" (list $cost "burstable" 2) | int64))
      (list "guaranteed" (include "berth-scheduler.intOr" (list $cost "guaranteed" 4) | int64)) -}}
{{- $valid := true -}}
{{- range $c := $costs -}}
{{- if lt (index $c 1) 1 -}}
{{- $errs = append $errs (printf "args.qosCost.%s: Invalid value: %d: must be >= 1" (index $c 0) (index $c 1)) -}}
{{- $valid = false -}}
{{- end -}}
{{- end -}}
{{- if $valid -}}
{{- range $i := list 1 2 -}}
{{- $lo := index $costs (sub $i 1) -}}{{- $hi := index $costs $i -}}
{{- if lt (index $hi 1) (index $lo 1) -}}
{{- $errs = append $errs (printf "args.qosCost.%s: Invalid value: %d: must be >= qosCost.%s (%d): costs must satisfy bestEffort <= burstable <= guaranteed" (index $hi 0) (index $hi 1) (index $lo 0) (index $lo 1)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $minPct := include "berth-scheduler.intOr" (list $a "minCandidateNodesPercentage" 10) | int64 -}}
{{- $minAbs := include "berth-scheduler.intOr" (list $a "minCandidateNodesAbsolute" 100) | int64 -}}
{{- if or (lt $minPct 0) (gt $minPct 100) -}}
{{- $errs = append $errs (printf "args.minCandidateNodesPercentage: Invalid value: %d: not in valid range [0, 100]" $minPct) -}}
{{- end -}}
{{- if lt $minAbs 0 -}}
{{- $errs = append $errs (printf "args.minCandidateNodesAbsolute: Invalid value: %d: not in valid range [0, inf)" $minAbs) -}}
{{- end -}}
{{- if and (eq $minPct 0) (eq $minAbs 0) -}}
{{- $errs = append $errs "args.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute" -}}
{{- $errs = append $errs "args.minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as minCandidateNodesPercentage" -}}
{{- end -}}
{{- if $errs }}{{ $all = append $all (include "berth-scheduler.pluginError" (list "QoSAwarePreemption" $errs)) }}{{ end -}}

{{- /* The chart's own rule: without a lease every replica would schedule. */ -}}
{{- if and (not .Values.leaderElection.leaderElect) (gt (int64 .Values.replicaCount) 1) -}}
{{- $all = append $all (printf "leaderElection.leaderElect: false needs replicaCount: 1, not %d: without a lease every replica schedules, and they race to bind the same pods" (int64 .Values.replicaCount)) -}}
{{- end -}}

{{- if $all }}{{ fail (join "\n" $all) }}{{ end -}}
{{- end }}
