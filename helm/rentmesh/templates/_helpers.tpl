{{/* The services in a fixed order, so that output is stable. */}}
{{- define "rentmesh.serviceNames" -}}
rental payment returns view notification delivery gateway
{{- end -}}

{{/* Services that hold state in RocksDB (the gateway holds none). */}}
{{- define "rentmesh.statefulNames" -}}
rental payment returns view notification delivery
{{- end -}}

{{/* Resource name of one service: <release>-<svc>. */}}
{{- define "rentmesh.svcName" -}}
{{- printf "%s-%s" .root.Release.Name .svc | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* In-cluster DNS name of one service. */}}
{{- define "rentmesh.svcHost" -}}
{{- printf "%s.%s.svc.cluster.local" (include "rentmesh.svcName" .) .root.Release.Namespace -}}
{{- end -}}

{{/* Istio principal (SPIFFE id without the scheme) of one service's account. */}}
{{- define "rentmesh.principal" -}}
{{- printf "cluster.local/ns/%s/sa/%s" .root.Release.Namespace (include "rentmesh.svcName" .) -}}
{{- end -}}

{{- define "rentmesh.testPrincipal" -}}
{{- printf "cluster.local/ns/%s/sa/%s-test" .Release.Namespace .Release.Name -}}
{{- end -}}

{{- define "rentmesh.imageRef" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "rentmesh.commonLabels" -}}
app.kubernetes.io/part-of: rentmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one service; stable across upgrades. */}}
{{- define "rentmesh.selectorLabels" -}}
app: {{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Labels of one service's objects and pods: app + version for Kiali. */}}
{{- define "rentmesh.svcLabels" -}}
{{ include "rentmesh.commonLabels" .root }}
{{ include "rentmesh.selectorLabels" . }}
app.kubernetes.io/name: {{ .svc }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
version: {{ .root.Values.version | quote }}
{{- end -}}

{{/* The flag file of one service (absl --flagfile format: one flag a line). */}}
{{- define "rentmesh.flagfile" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $cfg := index $root.Values.services $svc -}}
--grpc_address=0.0.0.0:{{ $cfg.grpcPort }}
--admin_address=0.0.0.0:{{ $cfg.adminPort }}
{{- if ne $svc "gateway" }}
--nats_url={{ $root.Values.nats.url }}
{{- if $root.Values.nats.auth.enabled }}
--nats_credentials={{ $root.Values.podDefaults.configPath }}/nats/{{ $svc }}.creds
{{- end }}
{{- if $root.Values.nats.tls.enabled }}
--nats_tls_ca={{ $root.Values.podDefaults.configPath }}/nats-tls/ca.crt
{{- if $root.Values.nats.tls.clientCertificate }}
--nats_tls_cert={{ $root.Values.podDefaults.configPath }}/nats-tls/tls.crt
--nats_tls_key={{ $root.Values.podDefaults.configPath }}/nats-tls/tls.key
{{- end }}
{{- end }}
--data_dir={{ $root.Values.state.mountPath }}/{{ $svc }}
--stream_replicas={{ $root.Values.nats.streamReplicas }}
{{- end }}
{{- if has $svc (list "rental" "payment" "returns" "delivery") }}
{{- with $root.Values.nats.streamLimits }}
{{- if .maxBytes }}
--stream_max_bytes={{ .maxBytes | int64 }}
{{- end }}
{{- if .maxMsgs }}
--stream_max_msgs={{ .maxMsgs | int64 }}
{{- end }}
{{- if and .maxAge (ne (toString .maxAge) "0s") }}
--stream_max_age={{ .maxAge }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $svc "payment" }}
{{- with $root.Values.nats.deadLetters }}
{{- if and .maxAge (ne (toString .maxAge) "0s") }}
--deadletter_max_age={{ .maxAge }}
{{- end }}
{{- if .maxBytes }}
--deadletter_max_bytes={{ .maxBytes | int64 }}
{{- end }}
{{- end }}
{{- end }}
{{- if ne $svc "gateway" }}
{{- if $root.Values.mesh.enabled }}
--trust_mesh=true
{{- else }}
{{- if not $root.Values.auth.disabled }}
--jwt_public_key_file={{ $root.Values.podDefaults.configPath }}/jwt/public.pem
--jwt_jwks_file={{ $root.Values.podDefaults.configPath }}/jwt/jwks.json
{{- end }}
--jwt_issuer={{ $root.Values.auth.issuer }}
--jwt_audience={{ $root.Values.auth.audience }}
--service_jwt_public_key_file={{ $root.Values.podDefaults.configPath }}/service-jwt/public.pem
{{- if eq $svc "rental" }}
{{- /* Rental signs its calls to payment, returns and delivery. */}}
--service_jwt_private_key_file={{ $root.Values.podDefaults.configPath }}/service-jwt/private.pem
{{- end }}
{{- end }}
{{- if $root.Values.tls.enabled }}
--tls_cert_file={{ $root.Values.podDefaults.configPath }}/tls/tls.crt
--tls_key_file={{ $root.Values.podDefaults.configPath }}/tls/tls.key
--tls_ca_file={{ $root.Values.podDefaults.configPath }}/tls/ca.crt
--tls_require_client_cert=true
{{- end }}
{{- end }}
{{- if and (eq $svc "gateway") $root.Values.tls.enabled }}
--backend_tls_ca_file={{ $root.Values.podDefaults.configPath }}/tls/ca.crt
--backend_tls_cert_file={{ $root.Values.podDefaults.configPath }}/tls/tls.crt
--backend_tls_key_file={{ $root.Values.podDefaults.configPath }}/tls/tls.key
{{- end }}
{{- if eq $svc "rental" }}
{{- if $root.Values.mesh.enabled }}
{{- /* Envoy balances over the payment pods, with outlier detection. */}}
--payment_address={{ include "rentmesh.svcHost" (dict "root" $root "svc" "payment") }}:{{ $root.Values.services.payment.grpcPort }}
{{- else }}
{{- /* No sidecar: gRPC itself balances round-robin over every ready payment
       pod of the headless Service, skipping one that is down. */}}
--payment_address=dns:///{{ include "rentmesh.svcName" (dict "root" $root "svc" "payment") }}-headless.{{ $root.Release.Namespace }}.svc.cluster.local:{{ $root.Values.services.payment.grpcPort }}
{{- end }}
--returns_address={{ include "rentmesh.svcHost" (dict "root" $root "svc" "returns") }}:{{ $root.Values.services.returns.grpcPort }}
{{- if $root.Values.services.delivery.enabled }}
{{- /* CancelRental cancels the delivery first; without delivery the flag stays
       empty and rentals have none. Balanced like payment's address. */}}
{{- if $root.Values.mesh.enabled }}
--delivery_address={{ include "rentmesh.svcHost" (dict "root" $root "svc" "delivery") }}:{{ $root.Values.services.delivery.grpcPort }}
{{- else }}
--delivery_address=dns:///{{ include "rentmesh.svcName" (dict "root" $root "svc" "delivery") }}-headless.{{ $root.Release.Namespace }}.svc.cluster.local:{{ $root.Values.services.delivery.grpcPort }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $svc "notification") $cfg.webhook }}
{{- with $cfg.webhook.url }}
--webhook_url={{ . }}
{{- end }}
{{- if $cfg.webhook.existingSecret }}
--webhook_secret_file={{ $root.Values.podDefaults.configPath }}/webhook/secret
{{- end }}
{{- end }}
{{- if eq $svc "gateway" }}
--http_address=0.0.0.0:{{ $cfg.httpPort }}
{{- range $dep := list "rental" "payment" "returns" "view" "notification" "delivery" }}
--{{ $dep }}_address={{ include "rentmesh.svcHost" (dict "root" $root "svc" $dep) }}:{{ (index $root.Values.services $dep).grpcPort }}
{{- end }}
{{- if $root.Values.auth.disabled }}
--auth_disabled=true
{{- else }}
--jwt_public_key_file={{ $root.Values.podDefaults.configPath }}/jwt/public.pem
--jwt_jwks_file={{ $root.Values.podDefaults.configPath }}/jwt/jwks.json
--jwt_issuer={{ $root.Values.auth.issuer }}
--jwt_audience={{ $root.Values.auth.audience }}
{{- end }}
{{- end }}
{{- range $k, $v := $cfg.flags }}
--{{ $k }}={{ $v }}
{{- end }}
{{- range $k, $v := $cfg.extraFlags }}
--{{ $k }}={{ $v }}
{{- end }}
{{- end -}}

{{- define "rentmesh.serviceJwtSecretName" -}}
{{- default (printf "%s-service-jwt" .Release.Name) .Values.serviceIdentity.existingSecret -}}
{{- end -}}

{{- define "rentmesh.jwtSecretName" -}}
{{- default (printf "%s-jwt" .Release.Name) .Values.auth.existingSecret -}}
{{- end -}}

{{/* Fully qualified gRPC method paths of one service, one a line. */}}
{{- define "rentmesh.methodPaths" -}}
{{- $cfg := index .root.Values.services .svc -}}
{{- range $m := keys (index .root.Values.routes .svc) | sortAlpha }}
/{{ $cfg.grpcService }}/{{ $m }}
{{- end }}
{{- end -}}

{{/* Retries of a route: the idempotent policy, or connection failures only
     (the request never left), or none for streams. Always explicit: Istio's
     default would retry on "unavailable,cancelled" even where that is unsafe. */}}
{{- define "rentmesh.retries" -}}
{{- $mesh := .root.Values.mesh -}}
{{- if .stream }}
retries:
  attempts: 0
{{- else if .idempotent }}
retries:
  attempts: {{ $mesh.retries.attempts }}
  retryOn: {{ (ternary $mesh.retries.httpRetryOn $mesh.retries.retryOn (default false .http)) | quote }}
  {{- with $mesh.retries.perTryTimeout }}
  perTryTimeout: {{ . }}
  {{- end }}
{{- else }}
retries:
  attempts: {{ $mesh.retries.attempts }}
  retryOn: {{ $mesh.connectionOnlyRetryOn | quote }}
{{- end }}
{{- end -}}

{{/* The per-method HTTP routes of one gRPC service's VirtualService.
     Args: root, svc, fault (bool), extraMatch (dict merged into each match). */}}
{{- define "rentmesh.grpcRoutes" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $cfg := index $root.Values.services $svc -}}
{{- $fi := $root.Values.mesh.faultInjection -}}
{{- $faulted := and .fault $fi.enabled (eq $fi.target $svc) -}}
{{- $host := include "rentmesh.svcHost" (dict "root" $root "svc" $svc) -}}
{{- range $m := keys (index $root.Values.routes $svc) | sortAlpha }}
{{- $r := index (index $root.Values.routes $svc) $m }}
{{- $path := printf "/%s/%s" $cfg.grpcService $m }}
{{- if and $faulted (not $r.stream) }}
- name: {{ $m }}-fault
  # Fault injection for the circuit-breaker demonstration (mesh.faultInjection).
  match:
    {{- if $fi.sourceApps }}
    {{- range $app := $fi.sourceApps }}
    - uri: {exact: {{ $path }}}
      sourceLabels: {app: {{ $app }}}
    {{- end }}
    {{- else }}
    - uri: {exact: {{ $path }}}
    {{- end }}
  fault:
    {{- if $fi.delay.enabled }}
    delay:
      fixedDelay: {{ $fi.delay.fixedDelay }}
      percentage: {value: {{ $fi.delay.percentage }}}
    {{- end }}
    {{- if $fi.abort.enabled }}
    abort:
      grpcStatus: {{ $fi.abort.grpcStatus | quote }}
      percentage: {value: {{ $fi.abort.percentage }}}
    {{- end }}
  route:
    - destination: {host: {{ $host }}, port: {number: {{ $cfg.grpcPort }}}}
  timeout: {{ $r.timeout }}
  {{- include "rentmesh.retries" (dict "root" $root "idempotent" $r.retry "stream" $r.stream) | nindent 2 }}
{{- end }}
- name: {{ $m }}
  {{- if $r.retry }}
  # Retried: idempotent by {{ $r.idempotentBy }}.
  {{- else if $r.stream }}
  # Long-lived server stream: no timeout, no retry.
  {{- else }}
  # Not idempotent: retried only when the request never reached the server.
  {{- end }}
  match:
    - uri: {exact: {{ $path }}}
  {{- with $.headersRemove }}
  headers:
    request:
      remove: {{ toJson . }}
  {{- end }}
  route:
    - destination: {host: {{ $host }}, port: {number: {{ $cfg.grpcPort }}}}
  timeout: {{ $r.timeout }}
  {{- include "rentmesh.retries" (dict "root" $root "idempotent" $r.retry "stream" $r.stream) | nindent 2 }}
{{- end }}
{{- end -}}

{{/* HTTP routes to the REST gateway, shared by the ingress and the in-mesh
     VirtualService. REST requests are not all idempotent (a POST without
     request_id gets a fresh one from the gateway on every attempt), so only
     GETs are retried on errors; other methods only on connection failures. */}}
{{- define "rentmesh.restRoutes" -}}
{{- $root := .root -}}
{{- $gw := $root.Values.services.gateway -}}
{{- $host := include "rentmesh.svcHost" (dict "root" $root "svc" "gateway") -}}
- name: rest-watch
  # WatchMyPage over HTTP: long-lived, no timeout, no retry.
  match:
    - uri: {regex: "^/v1/customers/[^/]+/rentals:watch$"}
  {{- with .headersRemove }}
  headers: {request: {remove: {{ toJson . }}}}
  {{- end }}
  route:
    - destination: {host: {{ $host }}, port: {number: {{ $gw.httpPort }}}}
  timeout: 0s
  retries:
    attempts: 0
- name: rest-get
  # Retried: GET maps to read-only RPCs.
  match:
    - method: {exact: GET}
  {{- with .headersRemove }}
  headers: {request: {remove: {{ toJson . }}}}
  {{- end }}
  route:
    - destination: {host: {{ $host }}, port: {number: {{ $gw.httpPort }}}}
  timeout: 5s
  {{- include "rentmesh.retries" (dict "root" $root "idempotent" true "http" true) | nindent 2 }}
- name: rest-write
  # Not idempotent at the HTTP edge: retried only when the request never left.
  {{- with .headersRemove }}
  headers: {request: {remove: {{ toJson . }}}}
  {{- end }}
  route:
    - destination: {host: {{ $host }}, port: {number: {{ $gw.httpPort }}}}
  timeout: 10s
  {{- include "rentmesh.retries" (dict "root" $root "idempotent" false) | nindent 2 }}
{{- end -}}

{{/* Who may call which methods inside the mesh: the architecture's call
     graph, not a setting. "*" = every method in values.routes. */}}
{{- define "rentmesh.callGraph" -}}
rental:
  gateway: ["*"]
payment:
  gateway: ["*"]
  rental: [Pay, GetPayment, ListRentalPayments]
returns:
  gateway: ["*"]
  rental: [ProcessReturn, GetRentalReturn]
view:
  gateway: ["*"]
notification:
  gateway: ["*"]
delivery:
  gateway: ["*"]
  rental: [CancelDelivery]
{{- end -}}

{{/* The Secret with the services' NATS credentials (<svc>.creds). */}}
{{- define "rentmesh.natsCredentialsSecretName" -}}
{{- default (printf "%s-nats-credentials" .Release.Name) .Values.nats.auth.existingSecret -}}
{{- end -}}
