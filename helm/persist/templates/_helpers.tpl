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

{{/* Fails unless every key of .map is in .allowed; .where names the value. */}}
{{- define "persist.checkKeys" -}}
{{- range $key, $_ := .map -}}
{{- if not (has $key $.allowed) -}}
{{- fail (printf "%s.%s is not a setting of this chart; known: %s" $.where $key (join ", " $.allowed)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fails on values that cannot make a working persistd. */}}
{{- define "persist.validate" -}}
{{- $c := .Values.config -}}
{{- include "persist.checkKeys" (dict "where" "config" "map" $c "allowed" (list "defaultDurability" "syncInterval" "autoShrink" "recovery" "limits")) -}}
{{- include "persist.checkKeys" (dict "where" "config.autoShrink" "map" $c.autoShrink "allowed" (list "disabled" "checkInterval" "ratio" "minFileBytes")) -}}
{{- include "persist.checkKeys" (dict "where" "config.recovery" "map" $c.recovery "allowed" (list "skipCorrupt" "ignoreUnknownFields")) -}}
{{- include "persist.checkKeys" (dict "where" "config.limits" "map" $c.limits "allowed" (list "maxMessageBytes" "maxPageSize")) -}}
{{- include "persist.checkKeys" (dict "where" "schema" "map" .Values.schema "allowed" (list "protoFiles" "descriptorSetBase64")) -}}
{{- if not (has (upper (default "" $c.defaultDurability)) (list "" "MEMORY" "ASYNC" "WRITE" "FSYNC")) -}}
{{- fail (printf "config.defaultDurability %q: use MEMORY, ASYNC, WRITE or FSYNC" $c.defaultDurability) -}}
{{- end -}}
{{- range $where, $d := dict "config.syncInterval" $c.syncInterval "config.autoShrink.checkInterval" $c.autoShrink.checkInterval -}}
{{- if and $d (not (regexMatch "^[0-9]{1,12}(\\.[0-9]{1,9})?s$" (toString $d))) -}}
{{- fail (printf "%s %q: a protobuf JSON duration, seconds with a trailing s, such as \"1s\", \"0.25s\" or \"60s\"" $where (toString $d)) -}}
{{- end -}}
{{- end -}}
{{- $schema := .Values.schema -}}
{{- if and $schema.protoFiles $schema.descriptorSetBase64 -}}
{{- fail "schema: give protoFiles or descriptorSetBase64, not both" -}}
{{- end -}}
{{- if and (or $schema.protoFiles $schema.descriptorSetBase64) (not .Values.maps) -}}
{{- fail "maps: a schema is given but no maps; list the maps to serve as {name, type}" -}}
{{- end -}}
{{- range $i, $f := $schema.protoFiles -}}
{{- $path := required (printf "schema.protoFiles[%d].path is required" $i) $f.path -}}
{{- if or (not (regexMatch "^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\\.proto$" $path)) (contains ".." $path) -}}
{{- fail (printf "schema.protoFiles[%d].path %q: a relative path of a .proto file, such as shop/v1/order.proto" $i $path) -}}
{{- end -}}
{{- $_ := required (printf "schema.protoFiles[%d].content is required (%s)" $i $path) $f.content -}}
{{- end -}}
{{- if $schema.descriptorSetBase64 -}}
{{- $b64 := regexReplaceAll "\\s" $schema.descriptorSetBase64 "" -}}
{{- if ne (b64enc (b64dec $b64)) $b64 -}}
{{- fail "schema.descriptorSetBase64 is not base64 (make it with: base64 -w0 set.binpb)" -}}
{{- end -}}
{{- end -}}
{{- range $i, $m := .Values.maps -}}
{{- $name := required (printf "maps[%d].name is required" $i) $m.name -}}
{{- if not (regexMatch "^[A-Za-z0-9_.-]{1,128}$" $name) -}}
{{- fail (printf "maps[%d].name %q: 1 to 128 characters of [A-Za-z0-9_.-]" $i $name) -}}
{{- end -}}
{{- $_ := required (printf "maps[%d].type is required (the full name of a message)" $i) $m.type -}}
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
