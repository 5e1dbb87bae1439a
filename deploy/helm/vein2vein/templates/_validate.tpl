{{/*
Checks across values that values.schema.json cannot express; called by configmap.yaml, so
every render runs them.
*/}}
{{- define "vein2vein.validate" -}}
{{- $t := .Values.kafka.topics -}}
{{- if gt (int $t.minInsyncReplicas) (int $t.replicationFactor) -}}
{{- fail (printf "kafka.topics.minInsyncReplicas (%v) must not exceed kafka.topics.replicationFactor (%v)" $t.minInsyncReplicas $t.replicationFactor) -}}
{{- end -}}
{{- range $svc, $roles := include "vein2vein.topology" $ | fromYaml -}}
{{- range $role := $roles -}}
{{- $cfg := include "vein2vein.roleConfig" (list $ $svc $role) | fromYaml -}}
{{- $where := printf "services.%s.roles.%s (with roleDefaults.%s)" $svc $role $role -}}
{{- if and (eq $role "relay") (gt (int $cfg.replicas) 1) -}}
{{- fail (printf "%s: a relay runs at most 1 replica (ordering per key), not %v" $where $cfg.replicas) -}}
{{- end -}}
{{- if include "vein2vein.autoscaled" (list $ $svc $role) -}}
{{- if gt (int $cfg.autoscaling.minReplicas) (int $cfg.autoscaling.maxReplicas) -}}
{{- fail (printf "%s: autoscaling.minReplicas exceeds maxReplicas" $where) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
