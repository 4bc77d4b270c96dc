{{/* The release's name for its objects: "kubedojo" for a release called kubedojo. */}}
{{- define "kubedojo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubedojo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubedojo.labels" -}}
{{ include "kubedojo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubedojo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubedojo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The platform's identity as the API server sees it (for the platform fence). */}}
{{- define "kubedojo.username" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "kubedojo.serviceAccountName" .) -}}
{{- end -}}

{{- define "kubedojo.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Refuses what the platform cannot do yet, with the reason, before anything is applied. */}}
{{- define "kubedojo.validate" -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- fail "replicaCount: kubedojo runs one replica for now. Several replicas need a shared PostgreSQL database, the socket.io PostgreSQL adapter, a Lease for the reaper and the warm pool, and terminals that reattach through another replica (README: Deploying to a cluster). Set replicaCount to 1." -}}
{{- end -}}
{{- if and .Values.persistence.enabled (gt (len .Values.persistence.accessModes) 0) (has "ReadWriteMany" .Values.persistence.accessModes) -}}
{{- fail "persistence.accessModes: SQLite needs a disk of its own (ReadWriteOnce); a shared file system would corrupt it." -}}
{{- end -}}
{{- end -}}
