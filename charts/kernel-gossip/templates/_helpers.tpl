{{/* Names are fixed (kernel-gossip-<component>): the operator finds observers by the
Service name and the docs refer to these names. */}}
{{- define "kg.name" -}}kernel-gossip-{{ . }}{{- end -}}

{{- define "kg.labels" -}}
app.kubernetes.io/name: kernel-gossip-{{ .component }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: kernel-gossip
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "kg.selector" -}}
app.kubernetes.io/name: kernel-gossip-{{ . }}
{{- end -}}

{{/* image: registry/repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "kg.image" -}}
{{- $c := index .root.Values .component -}}
{{- $tag := $c.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .root.Values.image.registry $c.image.repository $tag -}}
{{- end -}}

{{- define "kg.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
