{{/*
Names and labels, as `helm create` makes them.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "egress-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: `<release>-<name>`, or the release name alone when it already
contains the chart name. Truncated to 63 characters (the DNS label limit).
*/}}
{{- define "egress-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "egress-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "egress-webhook.labels" -}}
helm.sh/chart: {{ include "egress-webhook.chart" . }}
{{ include "egress-webhook.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the webhook server pods. */}}
{{- define "egress-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egress-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* ServiceAccount of the webhook server pods. */}}
{{- define "egress-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "egress-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Server image reference: the digest wins over the tag. */}}
{{- define "egress-webhook.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* kubectl image reference (cleanup hook and helm test). */}}
{{- define "egress-webhook.kubectlImage" -}}
{{- if .Values.kubectl.digest }}
{{- printf "%s@%s" .Values.kubectl.repository .Values.kubectl.digest }}
{{- else }}
{{- printf "%s:%s" .Values.kubectl.repository (required "kubectl.tag (or kubectl.digest) must be set" .Values.kubectl.tag) }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the webhook server runs outside the cluster (url mode). */}}
{{- define "egress-webhook.urlMode" -}}
{{- if .Values.webhook.url }}true{{ end }}
{{- end }}

{{/* Name of the Secret holding tls.crt and tls.key (and ca.crt, when the chart or cert-manager makes it). */}}
{{- define "egress-webhook.tlsSecretName" -}}
{{- if eq (include "egress-webhook.certsMode" .) "existing" }}
{{- .Values.certs.existing.secretName }}
{{- else }}
{{- printf "%s-tls" (include "egress-webhook.fullname" .) }}
{{- end }}
{{- end }}

{{/* Name of the serving cert-manager Certificate (also named by the CA injection annotation). */}}
{{- define "egress-webhook.certificateName" -}}
{{- printf "%s-serving" (include "egress-webhook.fullname" .) }}
{{- end }}

{{/* Name of the ValidatingWebhookConfiguration (cluster-scoped, so it carries the namespace). */}}
{{- define "egress-webhook.webhookConfigurationName" -}}
{{- printf "%s-%s" .Release.Namespace (include "egress-webhook.fullname" .) | trunc 253 | trimSuffix "-" }}
{{- end }}

{{/* Name of the webhook inside the configuration; it appears in every denial message. */}}
{{- define "egress-webhook.webhookName" -}}
{{- printf "%s.%s.egress-webhook.io" (include "egress-webhook.fullname" .) .Release.Namespace }}
{{- end }}

{{/* DNS names the API server uses for the Service; the serving certificate must carry them. */}}
{{- define "egress-webhook.serviceDNSNames" -}}
{{- $svc := include "egress-webhook.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $domain := default "cluster.local" .Values.policy.clusterDomain }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns $domain) | toJson }}
{{- end }}

{{/* Namespaces the webhook is never called for: kube-system, the release's own, and the exempt ones. */}}
{{- define "egress-webhook.excludedNamespaces" -}}
{{- list "kube-system" .Release.Namespace | concat (.Values.policy.exemptNamespaces | default list) | uniq | toJson }}
{{- end }}

{{/*
Checks of values that the schema cannot express. Included by every template that
depends on them, so `helm template` fails early with a message naming the value and the fix.
*/}}
{{- define "egress-webhook.validate" -}}
{{- if not .Values.policy.allowlist }}
{{- fail "policy.allowlist is empty: list the external hosts tenants may reach (see policy in values.yaml and examples/policy.yaml); an empty allowlist would deny every ServiceEntry" }}
{{- end }}
{{- if and (include "egress-webhook.urlMode" .) (ne (include "egress-webhook.certsMode" .) "existing") }}
{{- fail (printf "webhook.url is set, so the server runs outside the cluster with a certificate you made: set certs.mode=existing and certs.existing.caBundle (got certs.mode=%s)" .Values.certs.mode) }}
{{- end }}
{{- if eq (include "egress-webhook.certsMode" .) "existing" }}
{{- if not .Values.certs.existing.caBundle }}
{{- fail "certs.mode=existing needs certs.existing.caBundle: the base64 PEM of the CA that signed the serving certificate (e.g. from `egress-webhook certs`)" }}
{{- end }}
{{- if not (contains "BEGIN CERTIFICATE" (b64dec .Values.certs.existing.caBundle)) }}
{{- fail "certs.existing.caBundle is not base64 of a PEM certificate: encode the CA file with `base64 -w0 ca.crt`" }}
{{- end }}
{{- if and (not (include "egress-webhook.urlMode" .)) (not .Values.certs.existing.secretName) }}
{{- fail "certs.mode=existing needs certs.existing.secretName: a kubernetes.io/tls Secret in the release namespace with tls.crt and tls.key" }}
{{- end }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds=%v must exceed preStopSleepSeconds=%v: the kubelet would kill the pod before it drains" .Values.terminationGracePeriodSeconds .Values.preStopSleepSeconds) }}
{{- end }}
{{- if has .Values.tests.namespace (list "kube-system" .Release.Namespace) }}
{{- fail (printf "tests.namespace=%s is never checked by the webhook (kube-system and the release namespace are excluded): pick another namespace" .Values.tests.namespace) }}
{{- end }}
{{- if has .Values.tests.namespace (.Values.policy.exemptNamespaces | default list) }}
{{- fail (printf "tests.namespace=%s is in policy.exemptNamespaces, so helm test could never see a denial: pick another namespace" .Values.tests.namespace) }}
{{- end }}
{{- end }}

{{/*
The kinds the API server sends to the webhook: exactly the engine's registry of kinds
(webhook/policy/kinds/), group by group. tests/chart fails when the two differ.
*/}}
{{- define "egress-webhook.admissionRules" -}}
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1", "v1beta1", "v1alpha3"]
  operations: ["CREATE", "UPDATE"]
  resources: ["serviceentries", "destinationrules", "gateways", "workloadentries", "sidecars"]
  scope: Namespaced
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1", "v1beta1", "v1alpha3"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["virtualservices"]
  scope: Namespaced
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1alpha3"]
  operations: ["CREATE", "UPDATE"]
  resources: ["envoyfilters"]
  scope: Namespaced
- apiGroups: ["security.istio.io"]
  apiVersions: ["v1", "v1beta1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["requestauthentications"]
  scope: Namespaced
- apiGroups: ["extensions.istio.io"]
  apiVersions: ["v1alpha1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["wasmplugins", "trafficextensions"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1", "v1beta1"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["httproutes"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["grpcroutes"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1alpha2", "v1alpha3", "v1"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["tlsroutes"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1alpha2", "v1"]
  operations: ["CREATE", "UPDATE", "DELETE"]
  resources: ["tcproutes"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1", "v1beta1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["gateways"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1", "v1alpha3"]
  operations: ["CREATE", "UPDATE"]
  resources: ["backendtlspolicies"]
  scope: Namespaced
- apiGroups: ["gateway.networking.x-k8s.io"]
  apiVersions: ["v1alpha1"]
  operations: ["CREATE", "UPDATE"]
  resources: ["xbackends"]
  scope: Namespaced
{{- end }}

{{/*
Webhook entries of kinds with matchConditions of their own (Service, Endpoints,
EndpointSlice): name prefix, rules and CEL conditions, as the registry's webhooks() gives
them after the main entry. tests/chart fails when the two differ. matchConditions need
Kubernetes 1.30 (GA); an older API server would drop them and send every endpoint
controller write to the webhook, hence the chart's kubeVersion.
*/}}
{{- define "egress-webhook.conditionalWebhooks" -}}
- prefix: endpoints
  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["endpoints"]
      scope: Namespaced
    - apiGroups: ["discovery.k8s.io"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["endpointslices"]
      scope: Namespaced
  matchConditions:
    # The endpoint controllers' writes (pod IPs) must never be refused; labels can be forged.
    - name: not-an-endpoint-controller
      expression: >-
        !(request.userInfo.username in ['system:serviceaccount:kube-system:endpoint-controller',
        'system:serviceaccount:kube-system:endpointslice-controller',
        'system:serviceaccount:kube-system:endpointslice-mirroring-controller',
        'system:kube-controller-manager'])
- prefix: services
  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["services"]
      scope: Namespaced
  matchConditions:
    # Only Services that can route: ExternalName, externalIPs, routing labels/annotations.
    - name: service-may-route
      expression: >-
        object != null && has(object.spec) && ((has(object.spec.type) &&
        object.spec.type == 'ExternalName') || (has(object.spec.externalIPs) &&
        size(object.spec.externalIPs) > 0) || (has(object.metadata.labels) &&
        object.metadata.labels.exists(k, k in ['istio.io/use-waypoint',
        'istio.io/use-waypoint-namespace', 'istio.io/ingress-use-waypoint',
        'istio.io/use-waypoint-canary', 'istio.io/use-waypoint-canary-namespace',
        'topology.istio.io/network'] || k.startsWith('internal.istio.io/'))) ||
        (has(object.metadata.annotations) && object.metadata.annotations.exists(k,
        k in ['istio.io/use-waypoint', 'istio.io/use-waypoint-namespace',
        'istio.io/ingress-use-waypoint', 'istio.io/use-waypoint-canary',
        'istio.io/use-waypoint-canary-namespace', 'topology.istio.io/network'] ||
        k.startsWith('internal.istio.io/'))))
{{- end }}

{{/*
What the cluster view reads: get/list/watch on exactly the kinds it holds (the registry's
kinds and the Gateways they refer to: webhook.cluster.kinds.watched_kinds). tests/chart
fails when the two differ.
*/}}
{{- define "egress-webhook.clusterViewRules" -}}
- apiGroups: ["networking.istio.io"]
  resources: ["serviceentries", "virtualservices", "destinationrules", "gateways", "workloadentries", "sidecars", "envoyfilters"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["security.istio.io"]
  resources: ["requestauthentications"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["extensions.istio.io"]
  resources: ["wasmplugins", "trafficextensions"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes", "grpcroutes", "tlsroutes", "tcproutes", "gateways", "backendtlspolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.networking.x-k8s.io"]
  resources: ["xbackends"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["services", "endpoints"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/*
PromQL label matchers for the webhook's own series (no braces): the ServiceMonitor's
job (the Service's name) in the release namespace, unless monitoring.metricsSelector says.
*/}}
{{- define "egress-webhook.metricsSelector" -}}
{{- if .Values.monitoring.metricsSelector }}
{{- .Values.monitoring.metricsSelector }}
{{- else }}
{{- printf "job=%q,namespace=%q" (include "egress-webhook.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
PromQL label matchers for the API server's admission metrics of this release's webhook
entries (the main one and the `<prefix>.` ones), as a raw-string regex.
*/}}
{{- define "egress-webhook.apiserverWebhookSelector" -}}
{{- printf "type=\"validating\",name=~`(.+\\.)?%s`" (include "egress-webhook.webhookName" . | regexQuoteMeta) }}
{{- end }}

{{/* True (non-empty) when the chart creates the pods' PriorityClass. */}}
{{- define "egress-webhook.createPriorityClass" -}}
{{- if and .Values.priorityClass.create (not .Values.priorityClassName) }}true{{ end }}
{{- end }}

{{/*
PriorityClass of the webhook pods: the one named, else the chart's own (cluster-scoped,
so named like the webhook configuration, with the namespace), else none.
*/}}
{{- define "egress-webhook.priorityClassName" -}}
{{- if .Values.priorityClassName }}
{{- .Values.priorityClassName }}
{{- else if include "egress-webhook.createPriorityClass" . }}
{{- include "egress-webhook.webhookConfigurationName" . }}
{{- end }}
{{- end }}

{{/*
The certificate mode in force. `auto`: cert-manager when its API (cert-manager.io/v1) is
installed, so the certificate renews without an upgrade; else `generate`. An install that
already has the chart-generated Secret stays on `generate`: moving it to a new CA by
itself would leave a window in which the API server trusts neither side (set
certs.mode=certManager to move on purpose; chart README, "Certificates and rotation").
*/}}
{{- define "egress-webhook.certsMode" -}}
{{- if ne .Values.certs.mode "auto" }}
{{- .Values.certs.mode }}
{{- else if not (.Capabilities.APIVersions.Has "cert-manager.io/v1") }}
{{- print "generate" }}
{{- else }}
{{- $generated := lookup "v1" "Secret" .Release.Namespace (printf "%s-tls" (include "egress-webhook.fullname" .)) }}
{{- if and $generated (hasKey ($generated.metadata.annotations | default dict) "egress-webhook.io/not-after") }}
{{- print "generate" }}
{{- else }}
{{- print "certManager" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Server processes per pod: .Values.workers, or the CPU limit rounded up ("500m" -> 1,
"2" -> 2); 0 (the server counts the CPUs it may use) when there is no CPU limit.
*/}}
{{- define "egress-webhook.workers" -}}
{{- if .Values.workers -}}
{{- .Values.workers | int -}}
{{- else -}}
{{- $cpu := toString (dig "limits" "cpu" "" (.Values.resources | default dict)) -}}
{{- if not $cpu -}}
0
{{- else if hasSuffix "m" $cpu -}}
{{- max 1 (ceil (divf (trimSuffix "m" $cpu | float64) 1000)) | int -}}
{{- else -}}
{{- max 1 (ceil ($cpu | float64)) | int -}}
{{- end -}}
{{- end -}}
{{- end -}}
