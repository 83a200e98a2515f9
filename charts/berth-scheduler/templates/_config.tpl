{{/*
The KubeSchedulerConfiguration: berth's recommended profile (manifests/base/
scheduler-config.yaml, explained there and in docs/plugins.md) with the values'
leader election, scheduler name, weights and plugin arguments.
*/}}
{{- define "berth-scheduler.schedulerConfig" -}}
{{- include "berth-scheduler.validate" . -}}
{{- $profile := .Values.profile -}}
{{- $weights := $profile.weights | default dict -}}
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: {{ .Values.leaderElection.leaderElect }}
  leaseDuration: {{ .Values.leaderElection.leaseDuration }}
  renewDeadline: {{ .Values.leaderElection.renewDeadline }}
  retryPeriod: {{ .Values.leaderElection.retryPeriod }}
  resourceLock: leases
  resourceName: {{ include "berth-scheduler.fullname" . }}
  resourceNamespace: {{ .Values.namespace.name }}
profiles:
- schedulerName: {{ $profile.schedulerName }}
  plugins:
    multiPoint:
      enabled:
      {{- range $name := list "PriorityQoSSort" "PriorityHeadroom" "PriorityTaints" "PriorityPlacement" "QoSPlacement" "QoSAwarePreemption" }}
      - name: {{ $name }}
        {{- with index $weights $name }}
        weight: {{ int64 . }}
        {{- end }}
      {{- end }}
    queueSort:
      disabled:
      - name: PrioritySort      # PriorityQoSSort orders by priority, then QoS
    postFilter:
      disabled:
      - name: DefaultPreemption # QoSAwarePreemption is built on the same evaluator
  pluginConfig:
  {{- range $name := list "PriorityHeadroom" "PriorityTaints" "PriorityPlacement" "QoSPlacement" "QoSAwarePreemption" }}
  - name: {{ $name }}
    args:
      {{- index $profile.pluginArgs $name | default dict | toYaml | nindent 6 }}
  {{- end }}
{{- end }}
