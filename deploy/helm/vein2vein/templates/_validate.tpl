{{/*
Checks across values that values.schema.json cannot express; called by configmap.yaml, so
every render runs them.
*/}}
{{- define "vein2vein.validate" -}}
{{- $o := .Values.oidc -}}
{{- if not $o.issuer -}}
{{- fail "oidc.issuer is required: the issuer URL of the site's OpenID Connect provider, exactly as its tokens carry it in `iss` (e.g. https://login.site.example/realms/vein2vein). The APIs verify every request's bearer token against it and do not start without it." -}}
{{- end -}}
{{- if not $o.allowInsecureHttp -}}
{{- range $key, $url := dict "oidc.issuer" $o.issuer "oidc.discoveryUrl" ($o.discoveryUrl | default "") -}}
{{- if and (hasPrefix "http://" $url) (not (has (urlParse $url).hostname (list "localhost" "127.0.0.1" "::1"))) -}}
{{- fail (printf "%s (%s) is plain http: signing keys fetched that way can be forged in transit, and the APIs would refuse to start. Use https, or set oidc.allowInsecureHttp=true on a closed test network (never in production)." $key $url) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not (include "vein2vein.kafkaSasl" $) -}}
{{- range $svc, $values := .Values.services -}}
{{- if dig "kafka" "sasl" "existingSecret" "" $values -}}
{{- fail (printf "services.%s.kafka.sasl is set but kafka.securityProtocol is %s: a SASL principal needs SASL_SSL or SASL_PLAINTEXT" $svc $.Values.kafka.securityProtocol) -}}
{{- end -}}
{{- end -}}
{{- end -}}
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
