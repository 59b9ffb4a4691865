{{/* Names and labels. */}}

{{- define "persist.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>", or the release name when it has the chart's name in it. */}}
{{- define "persist.fullname" -}}
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

{{/* The headless Service that names the StatefulSet's pods. */}}
{{- define "persist.headlessName" -}}
{{- printf "%s-headless" (include "persist.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{- define "persist.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "persist.selectorLabels" -}}
app.kubernetes.io/name: {{ include "persist.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "persist.labels" -}}
helm.sh/chart: {{ include "persist.chart" . }}
{{ include "persist.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "persist.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "persist.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "persist.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Whether persistd serves the plaintext health port: "true" or "". */}}
{{- define "persist.healthPortOn" -}}
{{- if or .Values.tls.enabled .Values.health.dedicatedPort -}}true{{- end -}}
{{- end -}}

{{/* The port the kubelet's gRPC probes call (a number: grpc probes take no port names). */}}
{{- define "persist.probePort" -}}
{{- if include "persist.healthPortOn" . -}}
{{- .Values.ports.health | int -}}
{{- else -}}
{{- .Values.ports.grpc | int -}}
{{- end -}}
{{- end -}}

{{/*
Schema files and their ConfigMap keys. ConfigMap keys cannot hold "/", so
each .proto file is stored as "proto-<index>-<file name>" and mounted at its
path under /etc/persist/schema.
*/}}
{{- define "persist.protoKey" -}}
{{- printf "proto-%d-%s" .index (base .path) -}}
{{- end -}}

{{/*
Fails on values that cannot make a working persistd. values.schema.json has
already checked each value on its own (types, enums, patterns, unknown
keys); these are the rules between values.
*/}}
{{- define "persist.validate" -}}
{{- $schema := .Values.schema -}}
{{- if and $schema.protoFiles $schema.descriptorSetBase64 -}}
{{- fail "schema: give protoFiles or descriptorSetBase64, not both" -}}
{{- end -}}
{{- if and (or $schema.protoFiles $schema.descriptorSetBase64) (not .Values.maps) -}}
{{- fail "maps: a schema is given but no maps; list the maps to serve as {name, type}" -}}
{{- end -}}
{{- if $schema.descriptorSetBase64 -}}
{{- $b64 := regexReplaceAll "\\s" $schema.descriptorSetBase64 "" -}}
{{- if ne (b64enc (b64dec $b64)) $b64 -}}
{{- fail "schema.descriptorSetBase64 is not base64 (make it with: base64 -w0 set.binpb)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.secretName is required with tls.enabled: an existing Secret with tls.crt and tls.key" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth (not .Values.tls.enabled) -}}
{{- fail "tls.clientAuth needs tls.enabled" -}}
{{- end -}}
{{- if and .Values.tokens.enabled (not .Values.tokens.secretName) -}}
{{- fail "tokens.secretName is required with tokens.enabled: an existing Secret with the tokens file" -}}
{{- end -}}
{{- $ports := list (int .Values.ports.grpc) -}}
{{- if .Values.metrics.enabled -}}{{- $ports = append $ports (int .Values.ports.metrics) -}}{{- end -}}
{{- if include "persist.healthPortOn" . -}}{{- $ports = append $ports (int .Values.ports.health) -}}{{- end -}}
{{- if ne (len $ports) (len (uniq $ports)) -}}
{{- fail (printf "ports: grpc, metrics and health must differ (%v)" $ports) -}}
{{- end -}}
{{- if and .Values.persistence.enabled .Values.persistence.existingClaim (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "persistence.existingClaim: one claim is one store, so replicaCount must be 1 (not %d); leave existingClaim empty for a claim per pod" (int .Values.replicaCount)) -}}
{{- end -}}
{{- range $i, $v := .Values.extraVolumes -}}
{{- if has $v.name (list "config" "data") -}}
{{- fail (printf "extraVolumes[%d].name %q is the chart's own volume; pick another name" $i $v.name) -}}
{{- end -}}
{{- end -}}
{{- range $i, $m := .Values.extraVolumeMounts -}}
{{- $at := clean $m.mountPath -}}
{{- if or (eq $at "/data") (hasPrefix "/data/" $at) (eq $at "/etc/persist") (hasPrefix "/etc/persist/" $at) -}}
{{- fail (printf "extraVolumeMounts[%d].mountPath %q is inside the chart's /data or /etc/persist; mount elsewhere" $i $m.mountPath) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
persistd.json: a persist.v1.ServerConfig in proto3 JSON. Paths are where the
StatefulSet mounts things; settings left empty are omitted so that
persistd's defaults apply.
*/}}
{{- define "persist.serverConfig" -}}
{{- $v := .Values -}}
{{- $c := $v.config -}}
{{- $cfg := dict "listen" (printf "%s:%d" $v.listenAddress (int $v.ports.grpc)) "dataFile" (printf "/data/%s" $v.dataFileName) -}}
{{- if $v.schema.protoFiles -}}
{{- $files := list -}}
{{- range $v.schema.protoFiles -}}{{- $files = append $files .path -}}{{- end -}}
{{- $_ := set $cfg "schema" (dict "protoFiles" $files "includePaths" (list "/etc/persist/schema" "/usr/include")) -}}
{{- else if $v.schema.descriptorSetBase64 -}}
{{- $_ := set $cfg "schema" (dict "descriptorSet" "/etc/persist/schema/descriptor-set.binpb") -}}
{{- end -}}
{{- if $v.maps -}}
{{- $maps := list -}}
{{- range $v.maps -}}{{- $maps = append $maps (dict "name" .name "type" .type) -}}{{- end -}}
{{- $_ := set $cfg "maps" $maps -}}
{{- end -}}
{{- if $c.defaultDurability -}}{{- $_ := set $cfg "defaultDurability" (upper $c.defaultDurability) -}}{{- end -}}
{{- if $c.syncInterval -}}{{- $_ := set $cfg "syncInterval" $c.syncInterval -}}{{- end -}}
{{- if $c.expiryInterval -}}{{- $_ := set $cfg "expiryInterval" $c.expiryInterval -}}{{- end -}}
{{- $shrink := dict -}}
{{- with $c.autoShrink -}}
{{- if .disabled -}}{{- $_ := set $shrink "disabled" true -}}{{- end -}}
{{- if .checkInterval -}}{{- $_ := set $shrink "checkInterval" .checkInterval -}}{{- end -}}
{{- if .ratio -}}{{- $_ := set $shrink "ratio" (float64 .ratio) -}}{{- end -}}
{{- if .minFileBytes -}}{{- $_ := set $shrink "minFileBytes" (int64 .minFileBytes) -}}{{- end -}}
{{- end -}}
{{- if $shrink -}}{{- $_ := set $cfg "autoShrink" $shrink -}}{{- end -}}
{{- $recovery := dict -}}
{{- with $c.recovery -}}
{{- if .skipCorrupt -}}{{- $_ := set $recovery "skipCorrupt" true -}}{{- end -}}
{{- if .ignoreUnknownFields -}}{{- $_ := set $recovery "ignoreUnknownFields" true -}}{{- end -}}
{{- end -}}
{{- if $recovery -}}{{- $_ := set $cfg "recovery" $recovery -}}{{- end -}}
{{- $limits := dict -}}
{{- with $c.limits -}}
{{- if .maxMessageBytes -}}{{- $_ := set $limits "maxMessageBytes" (int64 .maxMessageBytes) -}}{{- end -}}
{{- if .maxPageSize -}}{{- $_ := set $limits "maxPageSize" (int64 .maxPageSize) -}}{{- end -}}
{{- if .maxBatchOperations -}}{{- $_ := set $limits "maxBatchOperations" (int64 .maxBatchOperations) -}}{{- end -}}
{{- end -}}
{{- if $limits -}}{{- $_ := set $cfg "limits" $limits -}}{{- end -}}
{{- if $v.tls.enabled -}}
{{- $tls := dict "certFile" "/etc/persist/tls/tls.crt" "keyFile" "/etc/persist/tls/tls.key" -}}
{{- if $v.tls.clientAuth -}}{{- $_ := set $tls "clientCaFile" "/etc/persist/tls/ca.crt" -}}{{- end -}}
{{- $_ := set $cfg "tls" $tls -}}
{{- end -}}
{{- if $v.tokens.enabled -}}
{{- $_ := set $cfg "tokensFile" (printf "/etc/persist/tokens/%s" $v.tokens.key) -}}
{{- end -}}
{{- if $v.metrics.enabled -}}
{{- $_ := set $cfg "metricsListen" (printf "%s:%d" $v.listenAddress (int $v.ports.metrics)) -}}
{{- end -}}
{{- if include "persist.healthPortOn" . -}}
{{- $_ := set $cfg "healthListen" (printf "%s:%d" $v.listenAddress (int $v.ports.health)) -}}
{{- end -}}
{{- toPrettyJson $cfg -}}
{{- end -}}

{{/* The ClusterIP Service of the metrics port. */}}
{{- define "persist.metricsName" -}}
{{- printf "%s-metrics" (include "persist.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{/* A list of Kubernetes objects from values, through tpl: (dict "value" <list> "context" $). */}}
{{- define "persist.tplYaml" -}}
{{- tpl (toYaml .value) .context -}}
{{- end -}}

{{/* PromQL label matchers for this release's persistd series. */}}
{{- define "persist.promSelector" -}}
{{- with .Values.metrics.prometheusRule.selector -}}
{{- . -}}
{{- else -}}
{{- printf "job=%q,namespace=%q" (include "persist.metricsName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}
