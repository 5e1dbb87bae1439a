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
{{- $tokenUrl := dig "tokenUrl" "" ($.Values.signing | default dict) | default "" -}}
{{- if and (hasPrefix "http://" $tokenUrl) (not (has (urlParse $tokenUrl).hostname (list "localhost" "127.0.0.1" "::1"))) -}}
{{- fail (printf "signing.tokenUrl (%s) is plain http: signers' passwords would cross the network in clear. Use https, or set oidc.allowInsecureHttp=true on a closed test network (never in production)." $tokenUrl) -}}
{{- end -}}
{{- end -}}
{{- include "vein2vein.validateSigning" . -}}
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

{{/*
The security notice needs both a recipient and a relay: either alone is a notice that reaches
nobody (it would only be logged). With network policies the relay's port must be open.
*/}}
{{- define "vein2vein.validateSigning" -}}
{{- $s := .Values.signing | default dict -}}
{{- $smtp := $s.smtp | default dict -}}
{{- if and $s.securityContact (not $smtp.host) -}}
{{- fail (printf "signing.securityContact (%s) is set but signing.smtp.host is not: the notice of repeated signing failures (21 CFR 11.300(d)) would never be mailed, only logged. Give the site's mail relay in signing.smtp.host, or leave both unset and alert on the log (docs/operations.md, \"Electronic signatures\")." $s.securityContact) -}}
{{- end -}}
{{- if and $smtp.host (not $s.securityContact) -}}
{{- fail (printf "signing.smtp.host (%s) is set but signing.securityContact is not: nobody would be mailed the notice of repeated signing failures. Give the security contact's address in signing.securityContact." $smtp.host) -}}
{{- end -}}
{{- if and $smtp.host .Values.networkPolicy.enabled -}}
{{- $port := $smtp.port | default 25 | int -}}
{{- $open := list -}}
{{- range $p := .Values.networkPolicy.egress.smtp.ports }}{{ $open = append $open (int $p) }}{{ end -}}
{{- if not (has $port $open) -}}
{{- fail (printf "signing.smtp.port %d is not in networkPolicy.egress.smtp.ports %v: the API pods could not reach the mail relay %s. Add it there." $port $open $smtp.host) -}}
{{- end -}}
{{- end -}}
{{- end -}}
