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

{{/* Whether the chart is given a shared database (PostgreSQL) instead of SQLite. */}}
{{- define "kubedojo.sharedDatabase" -}}
{{- if or .Values.database.url .Values.database.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Refuses what the platform cannot do, with the reason, before anything is applied. */}}
{{- define "kubedojo.validate" -}}
{{- $shared := include "kubedojo.sharedDatabase" . -}}
{{- $rwx := and .Values.persistence.enabled (has "ReadWriteMany" .Values.persistence.accessModes) -}}
{{- if and .Values.database.url .Values.database.existingSecret -}}
{{- fail "database: set database.url or database.existingSecret, not both." -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not $shared) -}}
{{- fail "replicaCount: several replicas need a shared PostgreSQL database: set database.url (postgres://…) or database.existingSecret. Without one kubedojo keeps its data in SQLite, a file one Pod owns, so replicaCount must be 1 (README: Deploying to a cluster)." -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) .Values.persistence.enabled (not $rwx) -}}
{{- fail "persistence: several replicas cannot share a ReadWriteOnce claim for the data directory (terminal recordings). Set persistence.enabled=false (each replica keeps its recordings on an emptyDir, lost with the Pod) or persistence.accessModes=[ReadWriteMany] with a storage class that serves it." -}}
{{- end -}}
{{- if and $rwx (not $shared) -}}
{{- fail "persistence.accessModes: SQLite needs a disk of its own (ReadWriteOnce); a shared file system would corrupt it. ReadWriteMany is for recordings beside a shared database (database.url)." -}}
{{- end -}}
{{- range .Values.extraEnv -}}
{{- if and (eq .name "KUBEDOJO_TERMINAL_BACKEND") (gt (int $.Values.replicaCount) 1) -}}
{{- fail "extraEnv: KUBEDOJO_TERMINAL_BACKEND cannot be changed with several replicas: terminals must be toolbox Pods (pod), whose shells outlive the replica that opened them." -}}
{{- end -}}
{{- end -}}
{{- end -}}
