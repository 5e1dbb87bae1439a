{{/*
The platform's shape: which roles each service runs. One Deployment per service role.
*/}}
{{- define "vein2vein.topology" -}}
batch: [api, consumer, relay]
custody: [api, consumer, relay]
logistics: [api, consumer, relay]
qc: [api, consumer, relay]
journey: [worker, bridge]
{{- end -}}

{{/*
What a role kind is: the port its probes use (api: the HTTP API on 8080; the others: the
health server on 8081), whether it may be autoscaled, its rollout strategy. A relay is never
scaled and never runs twice, not even during a rollout (Recreate): one publisher per outbox
keeps each key's order.
*/}}
{{- define "vein2vein.roleTraits" -}}
api: {portName: http, port: 8080, scalable: true, strategy: RollingUpdate}
consumer: {portName: health, port: 8081, scalable: true, strategy: RollingUpdate}
relay: {portName: health, port: 8081, scalable: false, strategy: Recreate}
worker: {portName: health, port: 8081, scalable: true, strategy: RollingUpdate}
bridge: {portName: health, port: 8081, scalable: true, strategy: RollingUpdate}
{{- end -}}

{{- define "vein2vein.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vein2vein.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component: (list $ "custody-api") -> <fullname>-custody-api */}}
{{- define "vein2vein.componentName" -}}
{{- printf "%s-%s" (include "vein2vein.fullname" (index . 0) | trunc 40 | trimSuffix "-") (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vein2vein.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vein2vein.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* Image of a service: (list $ "custody") */}}
{{- define "vein2vein.image" -}}
{{- $root := index . 0 -}}
{{- $img := $root.Values.image -}}
{{- printf "%s/%s/%s:%s" (trimSuffix "/" $img.registry) $img.repository (index . 1) (include "vein2vein.tag" $root) -}}
{{- end -}}

{{/* Selector labels of the release: (list $), or of one component: (list $ "custody-api") */}}
{{- define "vein2vein.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "vein2vein.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- if gt (len .) 1 }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}
{{- end -}}

{{/* Every label of an object: (list $) or (list $ component) */}}
{{- define "vein2vein.labels" -}}
{{- $root := index . 0 -}}
{{ include "vein2vein.selectorLabels" . }}
app.kubernetes.io/version: {{ include "vein2vein.tag" $root | quote }}
app.kubernetes.io/part-of: vein2vein
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "vein2vein.chart" $root }}
{{- with $root.Values.site }}
vein2vein.org/site: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "vein2vein.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vein2vein.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The hook Jobs run before the release's own objects exist (pre-install): with
serviceAccount.create they get a ServiceAccount of their own, itself a hook of a lower weight.
*/}}
{{- define "vein2vein.hookServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- printf "%s-hooks" (include "vein2vein.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- else -}}
{{- include "vein2vein.serviceAccountName" . -}}
{{- end -}}
{{- end -}}

{{/*
Deep merge of two maps: (list base override). Keys of override win, also when false or 0;
nested maps merge, anything else replaces. Returns YAML.
*/}}
{{- define "vein2vein.merge" -}}
{{- $base := index . 0 | default dict -}}
{{- $over := index . 1 | default dict -}}
{{- $out := deepCopy $base -}}
{{- range $k, $v := $over -}}
{{- $current := get $out $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $current) -}}
{{- $_ := set $out $k (include "vein2vein.merge" (list $current $v) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Effective settings of one role, (list $ service role): defaults, then roleDefaults.<role>,
then services.<service>.roles.<role>. Returns YAML.
*/}}
{{- define "vein2vein.roleConfig" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $role := index . 2 -}}
{{- $kind := index $root.Values.roleDefaults $role | default dict -}}
{{- $roles := (index $root.Values.services $svc).roles | default dict -}}
{{- $own := index $roles $role | default dict -}}
{{- $merged := include "vein2vein.merge" (list $root.Values.defaults $kind) | fromYaml -}}
{{- include "vein2vein.merge" (list $merged $own) -}}
{{- end -}}

{{/* Whether an HPA manages the role: (list $ service role) -> "true" or "" */}}
{{- define "vein2vein.autoscaled" -}}
{{- $traits := index (include "vein2vein.roleTraits" (index . 0) | fromYaml) (index . 2) -}}
{{- $cfg := include "vein2vein.roleConfig" . | fromYaml -}}
{{- if and $traits.scalable (dig "autoscaling" "enabled" false $cfg) -}}true{{- end -}}
{{- end -}}

{{- define "vein2vein.kafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}

{{- define "vein2vein.kafkaCa" -}}
{{- if and (hasSuffix "SSL" .Values.kafka.securityProtocol) .Values.kafka.tls.caSecret -}}true{{- end -}}
{{- end -}}

{{/*
The non-secret settings shared by every pod: the ConfigMap's data, and the hook Jobs' inline
environment (a pre-install hook runs before the ConfigMap exists). Returns YAML.
*/}}
{{- define "vein2vein.configData" -}}
V2V_KAFKA_BOOTSTRAP_SERVERS: {{ .Values.kafka.bootstrapServers | quote }}
V2V_KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
{{- if include "vein2vein.kafkaSasl" . }}
V2V_KAFKA_SASL_MECHANISM: {{ .Values.kafka.sasl.mechanism | quote }}
{{- end }}
{{- if include "vein2vein.kafkaCa" . }}
V2V_KAFKA_SSL_CAFILE: "/etc/vein2vein/kafka-ca/ca.crt"
{{- end }}
V2V_TEMPORAL_ADDRESS: {{ .Values.temporal.address | quote }}
V2V_TEMPORAL_NAMESPACE: {{ .Values.temporal.namespace | quote }}
V2V_HTTP_HOST: "0.0.0.0"
V2V_HTTP_PORT: "8080"
V2V_HEALTH_PORT: "8081"
{{- include "vein2vein.oidcConfig" . }}
{{- /* The migration hook Jobs own the schema: a rollback must not meet pods that migrate. */}}
V2V_MIGRATE_ON_START: "false"
V2V_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
V2V_LOG_JSON: {{ .Values.config.logJson | toString | quote }}
{{- with .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ $.Values.otel.protocol | quote }}
{{- end }}
{{- range $k, $v := .Values.config.extraEnv }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/*
How the APIs verify bearer tokens (V2V_OIDC_*, v2v_runtime.auth.OidcSettings): the issuer
always, every other setting only when the site gave it (the runtime's defaults otherwise),
so the ConfigMap shows what a site chose. The journey reads none of them: it serves no API.
*/}}
{{- define "vein2vein.oidcConfig" -}}
{{- $o := .Values.oidc -}}
{{- $claims := $o.claims | default dict }}
V2V_OIDC_ISSUER: {{ $o.issuer | quote }}
{{- with $o.audience }}
V2V_OIDC_AUDIENCE: {{ . | quote }}
{{- end }}
{{- with $o.discoveryUrl }}
V2V_OIDC_DISCOVERY_URL: {{ . | quote }}
{{- end }}
{{- with $claims.roles }}
V2V_OIDC_ROLES_CLAIM: {{ join "," . | quote }}
{{- end }}
{{- range $key, $env := dict "sites" "SITES" "name" "NAME" "username" "USERNAME" "machine" "MACHINE" }}
{{- with index $claims $key }}
V2V_OIDC_{{ $env }}_CLAIM: {{ . | quote }}
{{- end }}
{{- end }}
{{- with $o.algorithms }}
V2V_OIDC_ALGORITHMS: {{ join "," . | quote }}
{{- end }}
{{- if not (kindIs "invalid" $o.leewaySeconds) }}
V2V_OIDC_LEEWAY_S: {{ $o.leewaySeconds | toString | quote }}
{{- end }}
{{- if $o.allowInsecureHttp }}
V2V_OIDC_ALLOW_INSECURE_HTTP: "true"
{{- end }}
{{- end -}}

{{/*
How the API pods sign (V2V_SIGNING_*, v2v_runtime.signatures.SigningSettings): only the
settings the site gave (null: the runtime's default), so the ConfigMap shows what a site
chose; an explicit false or number is a choice too. The client secret is never here: it is a
Secret reference in the API containers' env. Returns YAML (empty when nothing is set).
*/}}
{{- define "vein2vein.signingConfig" -}}
{{- $s := .Values.signing | default dict -}}
{{- $smtp := $s.smtp | default dict -}}
{{- $settings := dict
  "CLIENT_ID" $s.clientId
  "TOKEN_URL" $s.tokenUrl
  "SCOPE" $s.scope
  "ONE_COMPONENT_IN_SESSION" $s.oneComponentInSession
  "SESSION_IDLE_MINUTES" $s.sessionIdleMinutes
  "FAILURES_BEFORE_NOTICE" $s.failuresBeforeNotice
  "FAILURE_WINDOW_MINUTES" $s.failureWindowMinutes
  "SECURITY_CONTACT" $s.securityContact
  "SMTP_HOST" $smtp.host
  "SMTP_PORT" $smtp.port
  "SMTP_SENDER" $smtp.sender
  "TIME_ZONE" $s.timeZone
-}}
{{- range $name, $value := $settings }}
{{- if not (kindIs "invalid" $value) }}
V2V_SIGNING_{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The signing client's secret, when the site gave its Secret: "true" or "" */}}
{{- define "vein2vein.signingSecret" -}}
{{- if dig "clientSecret" "existingSecret" "" (.Values.signing | default dict) -}}true{{- end -}}
{{- end -}}

{{/*
A container's own environment (YAML list): (dict "root" $ "component" name "svc" service
"env" extra-settings "database" bool "temporal" bool "signing" bool). The downward API, the
telemetry identity, references to the site's Secrets (never their values; with "signing" the
signing client's), then the extra settings, which win over the chart's. In Deployments it
adds to the ConfigMaps (envFrom) and wins over them.
*/}}
{{- define "vein2vein.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $extra := .env | default dict -}}
{{- $entries := list -}}
{{- $entries = append $entries (dict "name" "K8S_POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name"))) -}}
{{- $entries = append $entries (dict "name" "OTEL_SERVICE_NAME" "value" (printf "vein2vein-%s" .component)) -}}
{{- $attrs := list (printf "service.namespace=vein2vein") (printf "service.version=%s" (include "vein2vein.tag" $root)) (printf "k8s.namespace.name=%s" $root.Release.Namespace) "k8s.pod.name=$(K8S_POD_NAME)" -}}
{{- with $v.site }}{{ $attrs = append $attrs (printf "vein2vein.site=%s" .) }}{{ end -}}
{{- range $k, $val := $v.otel.resourceAttributes }}{{ $attrs = append $attrs (printf "%s=%s" $k (toString $val)) }}{{ end -}}
{{- $entries = append $entries (dict "name" "OTEL_RESOURCE_ATTRIBUTES" "value" (join "," $attrs)) -}}
{{- if .database -}}
{{- $db := (index $v.services .svc).database -}}
{{- $entries = append $entries (dict "name" "V2V_DATABASE_URL" "valueFrom" (dict "secretKeyRef" (dict "name" $db.existingSecret "key" $db.key))) -}}
{{- end -}}
{{- if include "vein2vein.kafkaSasl" $root -}}
{{- $s := $v.kafka.sasl -}}
{{- $secret := $s.existingSecret -}}
{{- $user := $s.username | default "" -}}
{{- if .svc -}}
{{- /* The service's own principal, when it has one: Secret and user name together. */ -}}
{{- $own := dig "kafka" "sasl" dict (index $v.services .svc) -}}
{{- if $own.existingSecret -}}
{{- $secret = $own.existingSecret -}}
{{- $user = $own.username | default "" -}}
{{- end -}}
{{- end -}}
{{- if $user -}}
{{- $entries = append $entries (dict "name" "V2V_KAFKA_SASL_USERNAME" "value" $user) -}}
{{- else -}}
{{- $entries = append $entries (dict "name" "V2V_KAFKA_SASL_USERNAME" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" $s.usernameKey))) -}}
{{- end -}}
{{- $entries = append $entries (dict "name" "V2V_KAFKA_SASL_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" $s.passwordKey))) -}}
{{- end -}}
{{- if and .signing (include "vein2vein.signingSecret" $root) -}}
{{- $cs := $v.signing.clientSecret -}}
{{- $entries = append $entries (dict "name" "V2V_SIGNING_CLIENT_SECRET" "valueFrom" (dict "secretKeyRef" (dict "name" $cs.existingSecret "key" $cs.key))) -}}
{{- end -}}
{{- if .temporal -}}
{{- $j := $v.services.journey -}}
{{- $entries = append $entries (dict "name" "V2V_POLICY" "value" $j.policy) -}}
{{- with $j.policyByProduct -}}
{{- $entries = append $entries (dict "name" "V2V_POLICY_BY_PRODUCT" "value" (toJson .)) -}}
{{- end -}}
{{- if $v.temporal.tls.enabled -}}
{{- if $v.temporal.tls.caKey -}}
{{- $entries = append $entries (dict "name" "V2V_TEMPORAL_TLS_CA" "value" "/etc/vein2vein/temporal-tls/ca.crt") -}}
{{- end -}}
{{- $entries = append $entries (dict "name" "V2V_TEMPORAL_TLS_CERT" "value" "/etc/vein2vein/temporal-tls/tls.crt") -}}
{{- $entries = append $entries (dict "name" "V2V_TEMPORAL_TLS_KEY" "value" "/etc/vein2vein/temporal-tls/tls.key") -}}
{{- end -}}
{{- with $v.temporal.apiKey.existingSecret -}}
{{- $entries = append $entries (dict "name" "V2V_TEMPORAL_API_KEY" "valueFrom" (dict "secretKeyRef" (dict "name" . "key" $v.temporal.apiKey.key))) -}}
{{- end -}}
{{- end -}}
{{- $out := list -}}
{{- range $e := $entries -}}
{{- if not (hasKey $extra $e.name) -}}{{- $out = append $out $e -}}{{- end -}}
{{- end -}}
{{- range $k, $val := $extra -}}
{{- $out = append $out (dict "name" $k "value" (toString $val)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Volume mounts of a container: (dict "root" $ "temporal" bool "extra" list) */}}
{{- define "vein2vein.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "vein2vein.kafkaCa" .root }}
- name: kafka-ca
  mountPath: /etc/vein2vein/kafka-ca
  readOnly: true
{{- end }}
{{- if and .temporal .root.Values.temporal.tls.enabled }}
- name: temporal-tls
  mountPath: /etc/vein2vein/temporal-tls
  readOnly: true
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes of a pod: (dict "root" $ "temporal" bool "extra" list) */}}
{{- define "vein2vein.volumes" -}}
{{- $v := .root.Values -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.tmpDir.sizeLimit }}
{{- if include "vein2vein.kafkaCa" .root }}
- name: kafka-ca
  secret:
    secretName: {{ $v.kafka.tls.caSecret }}
    defaultMode: 0444
    items:
      - key: {{ $v.kafka.tls.caKey }}
        path: ca.crt
{{- end }}
{{- if and .temporal $v.temporal.tls.enabled }}
- name: temporal-tls
  secret:
    secretName: {{ $v.temporal.tls.existingSecret }}
    # Readable by the pod's group (fsGroup) only: it holds the client's private key.
    defaultMode: 0440
    items:
      {{- with $v.temporal.tls.caKey }}
      - key: {{ . }}
        path: ca.crt
      {{- end }}
      - key: {{ $v.temporal.tls.certKey }}
        path: tls.crt
      - key: {{ $v.temporal.tls.keyKey }}
        path: tls.key
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Scheduling and pod-level settings shared by Deployments and Jobs, from a role config (or
from .Values.defaults for the Jobs). Indented by the caller.
*/}}
{{- define "vein2vein.podScheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A hook Job running one command once before install/upgrade: (dict "root" $ "component" name
"image" service-whose-image "svc" service-or-"" "weight" n "command" list "args" list
"temporal" bool). With a svc it gets that service's database URL, settings and volumes.
Settings are inline: a pre-install hook runs before the release's ConfigMap exists.
*/}}
{{- define "vein2vein.hookJob" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $d := $v.defaults -}}
{{- $svcValues := dict -}}
{{- if .svc }}{{ $svcValues = index $v.services .svc }}{{ end -}}
{{- $own := include "vein2vein.env" (dict "root" $root "component" .component "svc" .svc "env" ($svcValues.env | default dict) "database" (not (empty .svc)) "temporal" .temporal) | fromYamlArray -}}
{{- $names := dict -}}
{{- range $e := $own }}{{ $_ := set $names $e.name true }}{{ end -}}
{{- $env := list -}}
{{- range $k, $val := include "vein2vein.configData" $root | fromYaml -}}
{{- if not (hasKey $names $k) }}{{ $env = append $env (dict "name" $k "value" $val) }}{{ end -}}
{{- end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "vein2vein.componentName" (list $root .component) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "vein2vein.labels" (list $root .component) | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ $v.jobs.backoffLimit }}
  activeDeadlineSeconds: {{ $v.jobs.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "vein2vein.selectorLabels" (list $root .component) | nindent 8 }}
        vein2vein.org/hook: "true"
        {{- with $d.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.jobs.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "vein2vein.hookServiceAccountName" $root }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "vein2vein.podScheduling" $d | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "vein2vein.image" (list $root .image) | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          {{- with .command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          env:
            {{- toYaml (concat $env $own) | nindent 12 }}
          resources:
            {{- toYaml $v.jobs.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- include "vein2vein.volumeMounts" (dict "root" $root "temporal" .temporal "extra" ($svcValues.extraVolumeMounts | default list)) | nindent 12 }}
      volumes:
        {{- include "vein2vein.volumes" (dict "root" $root "temporal" .temporal "extra" ($svcValues.extraVolumes | default list)) | nindent 8 }}
{{- end -}}

{{/*
Egress rules (YAML list) of every pod: DNS, Kafka, Temporal, PostgreSQL, OTLP (when an
endpoint is set); of the API pods also the OpenID Connect provider and, when
signing.smtp.host is set, the mail relay of security notices; then
networkPolicy.egress.extra. A destination with neither cidrs nor peers is open on its ports
to any address. (dict "root" $ "api" bool)
*/}}
{{- define "vein2vein.egressRules" -}}
{{- $root := .root -}}
{{- $e := $root.Values.networkPolicy.egress -}}
{{- $names := list "dns" "kafka" "temporal" "postgresql" -}}
{{- if $root.Values.otel.endpoint }}{{ $names = append $names "otlp" }}{{ end -}}
{{- if .api }}{{ $names = append $names "oidc" }}{{ end -}}
{{- if and .api (dig "smtp" "host" nil ($root.Values.signing | default dict)) }}{{ $names = append $names "smtp" }}{{ end -}}
{{- $rules := list -}}
{{- range $name := $names -}}
{{- $dest := index $e $name -}}
{{- $ports := list -}}
{{- range $p := $dest.ports -}}
{{- if eq $name "dns" }}{{ $ports = append $ports (dict "protocol" "UDP" "port" $p) }}{{ end -}}
{{- $ports = append $ports (dict "protocol" "TCP" "port" $p) -}}
{{- end -}}
{{- $to := list -}}
{{- range $cidr := $dest.cidrs }}{{ $to = append $to (dict "ipBlock" (dict "cidr" $cidr)) }}{{ end -}}
{{- $to = concat $to ($dest.peers | default list) -}}
{{- $rule := dict "ports" $ports -}}
{{- if $to }}{{ $_ := set $rule "to" $to }}{{ end -}}
{{- $rules = append $rules $rule -}}
{{- end -}}
{{- toYaml (concat $rules ($e.extra | default list)) -}}
{{- end -}}
