"""Ordinary configurations from Istio's docs and platform guides: every one is admitted.

Each row is one object as an istio.io page (or the API reference) writes it, in the
namespace the page applies it to; the id names the page. The policy allowlists the hosts
those pages use and the cluster's networks, as a platform team would. Egress-gateway
VirtualServices name the gateway the policy approves by default,
`istio-system/istio-egressgateway` (the tasks create their Gateway in the same namespace
and write `istio-egressgateway`). A refusal here is a rule that is too strict, unless the
README says why the object opens a door.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import policy_from
from webhook.policy.engine import SCHEMA_RULE, evaluate
from webhook.policy.index import CompiledPolicy

ORDINARY_POLICY_YAML = """
allowlist:
  - host: edition.cnn.com
    ports: [{number: 80}, {number: 443}]
  - host: httpbin.org
    ports: [{number: 80}, {number: 443}]
  - host: www.google.com
    ports: [{number: 443}]
  - host: "*.wikipedia.org"
    ports: [{number: 443}]
  - host: wikipedia.org               # "Egress Control for TCP" and the Endpoints task; 80: the
    ports: [{number: 80}, {number: 443}]  # VirtualService reference's external-svc-wikipedia
    cidrs: [91.198.174.192/27, 103.102.166.224/27, 198.35.26.96/27, 208.80.153.224/27,
            208.80.154.224/27]
  - host: istio.io
    ports: [{number: 443}]
  - host: api.dropboxapi.com
    ports: [{number: 443}]
  - host: nginx.example.com
    ports: [{number: 80}, {number: 443}]
  - host: mysql.foo.com
    ports: [{number: 3306}]
  - host: my-company-proxy.com        # "Using an External HTTPS Proxy"
    ports: [{number: 3128}]
    cidrs: [203.0.113.10/32]
  - host: www.googleapis.com          # the ServiceEntry reference and the google-apis sample
    ports: [{number: 80}, {number: 443}]
  - host: api.facebook.com
    ports: [{number: 443}]
  - host: example.com                 # the ServiceEntry reference and ambient egress gateways;
    ports: [{number: 80}, {number: 443}]  # 443: the RequestAuthentication reference's jwksUri
    cidrs: [2.2.2.2/32, 3.3.3.3/32]
  - host: mymongodb.somedomain
    ports: [{number: 27018}]
    cidrs: [192.192.192.0/24, 2.2.2.2/32, 3.3.3.3/32]
  - host: foo.bar.com
    ports: [{number: 80}]
  - host: "*.bar.com"                 # the reference's wildcard and foo.bar.com's endpoints
    ports: [{number: 80}, {number: 7080}, {number: 8080}, {number: 9080}]
  - host: address.internal            # "DNS Proxying"
    ports: [{number: 80}]
    cidrs: [198.51.100.1/32]
  - host: auto.internal
    ports: [{number: 80}]
  - host: ext-authz-http.local        # samples/extauthz/local-ext-authz.yaml: the pod's loopback
    ports: [{number: 8000}]
    cidrs: [127.0.0.1/32]
  - host: ext-authz-grpc.local
    ports: [{number: 9000}]
    cidrs: [127.0.0.1/32]
  - host: raw.githubusercontent.com    # the JWT tasks' jwksUri
    ports: [{number: 443}]
  - host: ghcr.io                     # "Distributing WebAssembly Modules"
    ports: [{number: 443}]
  - host: gcr.io                      # traffic_extension.proto's WasmConfig example
    ports: [{number: 443}]
  - host: github.com                  # samples/external/github.yaml
    ports: [{number: 443}]
  - host: "*.github.com"
    ports: [{number: 22, protocols: [TCP]}]
    cidrs: [13.229.188.59/32, 13.250.177.223/32, 140.82.112.0/20, 18.194.104.89/32,
            18.195.85.27/32, 185.199.108.0/22, 192.30.252.0/22, 23.20.92.3/32,
            35.159.8.160/32, 52.74.223.119/32, 54.166.52.62/32, 54.87.5.173/32]
  - host: reviews.com                 # the VirtualService reference's reviews-route-two-domains
    ports: [{number: 80}]
  - host: dev.reviews.com
    ports: [{number: 80}]
  - host: vm1.vpc01.corp.net          # the WorkloadEntry reference: a VM named by DNS
    ports: [{number: 8080}]
  - host: acme-v02.api.letsencrypt.org  # cert-manager's ACME client, through the egress gateway
    ports: [{number: 443, protocols: [TLS]}]
egressGateway:
  service: istio-egressgateway.istio-system.svc.cluster.local
  gateways: [istio-system/istio-egressgateway]
  requireFor: [edition.cnn.com, "*.wikipedia.org", istio.io, nginx.example.com,
               acme-v02.api.letsencrypt.org]
exemptNamespaces: [istio-system]
internalNetworks: [10.244.0.0/16, 10.96.0.0/12, "fd00:10:244::/56", "fd00:10:96::/112"]
"""

ORDINARY_POLICY: CompiledPolicy = policy_from(ORDINARY_POLICY_YAML)

#: The Gateway API egress tab deploys its own gateway per namespace; the policy lists it.
GATEWAY_API_EGRESS_POLICY: CompiledPolicy = policy_from(
    ORDINARY_POLICY_YAML.replace(
        "gateways: [istio-system/istio-egressgateway]",
        "gateways: [istio-system/istio-egressgateway, default/cnn-egress-gateway,"
        " default/wikipedia-egress-gateway, default/nginx-egressgateway]",
    )
)

#: Ambient egress: the waypoint in istio-egress is the approved egress waypoint.
AMBIENT_EGRESS_POLICY: CompiledPolicy = policy_from(
    ORDINARY_POLICY_YAML.replace(
        "  gateways: [istio-system/istio-egressgateway]",
        "  gateways: [istio-system/istio-egressgateway]\n  waypoints: [istio-egress/waypoint]",
    )
)

#: Several namespaces: a host only the payments namespace may use.
MULTI_NAMESPACE_POLICY: CompiledPolicy = policy_from(
    ORDINARY_POLICY_YAML.replace(
        "allowlist:\n",
        "allowlist:\n  - host: api.partner.example.com\n    ports: [{number: 8443}]\n"
        "    namespaces: [payments]\n",
        1,
    )
)


CATALOGUE = Path(__file__).parent / "ordinary"

#: Ordinary objects that really open a door, with the rule that refuses them (README says why).
REFUSED: dict[str, str] = {
    # Every imported service is rendered on the listener's port and protocol
    # (buildSidecarOutboundListeners, pilot/pkg/networking/core/listener.go), so an SE in
    # prod-us1 for a gateway-required host loses its egress-gateway route on 9080.
    "sidecar-ports/Sidecar/prod-us1/ratings": "sidecar-egress-listeners",
    # The mTLS task's nginx runs in the unmeshed mesh-external namespace; an external
    # host's endpoint at an in-cluster name hands its traffic to a pod no egress policy
    # governs (test_service_entry_endpoints "endpoint-in-cluster"). A real nginx.example.com
    # needs no endpoints (egress-gateway-tls-origination.yaml).
    "egress-gateway-tls-origination-gateway-api/ServiceEntry/default/nginx": (
        "service-entry-endpoints"
    ),
    # MESH_INTERNAL: the README's service-entry-resolution row (an external host taken as a
    # mesh workload); only the VM form (workloadSelector, no endpoints) is admitted.
    "service-entry-reference/ServiceEntry/default/external-svc-mongocluster": (
        "service-entry-resolution"
    ),
    "service-entry-reference/ServiceEntry/httpbin-ns/httpbin": "service-entry-resolution",
    # Resolution NONE on an exact host forwards to whatever IP was dialled (an ORIGINAL_DST
    # cluster, convertResolution in pilot/pkg/networking/core/cluster.go); on an HTTP port
    # addresses do not help, the listener is 0.0.0.0:port.
    "service-entry-reference/ServiceEntry/default/external-svc-redirect": (
        "service-entry-resolution"
    ),
    "dns-proxy/ServiceEntry/default/external-address": "service-entry-resolution",
    "istio-samples/ServiceEntry/default/github-https": "service-entry-resolution",
    # Cluster-domain names are not external hosts (service-entry-hosts).
    "dns-proxy/ServiceEntry/default/external-svc-1": "service-entry-hosts",
    # The bare name is egress/istio-egressgateway (resolveGatewayName,
    # pilot/pkg/model/config.go), which the policy does not approve: any Gateway of
    # that name would forward example.com from the pods it selects.
    "service-entry-reference/VirtualService/egress/gateway-routing": "gateway-routing",
    # istio-agent resolves the single-label placeholder through the pod's search domains
    # (the namespace's Services, then the node's domains and the root), so it names no one
    # host; an in-cluster FQDN or an allowlisted registry is admitted (test_wasm_plugin_url).
    "request-authentication-wasm/WasmPlugin/istio-ingress/openid-connect-oci": "wasm-plugin-url",
    # ext_authz's grpc_service names a cluster by name: any cluster the proxy has, an external
    # host's own outbound|443||host among them, gets every request's headers, around the
    # egress gateway (README: envoy-filter-upstreams). CUSTOM AuthorizationPolicy with a
    # mesh-config extension provider is the platform's way.
    "envoy-filter-reference/EnvoyFilter/myns/myns-ext-authz": "envoy-filter-upstreams",
    "envoy-filter-reference/EnvoyFilter/myns/mysvc-ext-authz": "envoy-filter-upstreams",
    # A Wasm filter (here the null VM's compiled-in attributegen): the webhook cannot tell
    # which built-in plugins the proxy has, and istio-proxy has shipped one that exported to
    # Google's APIs itself (stackdriver); modules can dispatch_http_call any cluster.
    "envoy-filter-reference/EnvoyFilter/myns/reviews-request-operation": "envoy-filter-upstreams",
    # README: LISTENER_FILTER is refused in any context. proxy_protocol on the inbound
    # listener takes the connection's destination from the client's PROXY header, and that
    # address is what the ORIGINAL_DST InboundPassthroughCluster dials; the webhook does
    # not follow which listener filters are harmless.
    "envoy-filter-reference/EnvoyFilter/myns/listener-filter-example": "envoy-filter-patches",
    # *.wikipedia.org must use the egress gateway; this sends it to an in-cluster firewall
    # instead (admitted when the host is not in requireFor).
    "service-entry-reference-more/VirtualService/default/tls-routing": "mesh-routing",
    # A backendRef kind Istio does not route (it answers 500) is another controller's:
    # Envoy Gateway's Backend, say, reaches any FQDN or IP (README: route-backends).
    "gateway-api-examples/HTTPRoute/default/default-match-route": "route-backends",
    # A VM on another network is reached through that network's gateway (README: multi-network
    # VMs are refused; exempt the namespace if the mesh spans networks).
    "workload-entry-reference/WorkloadEntry/default/foo-workloads-cluster-2": (
        "workload-entry-endpoint"
    ),
    # Envoy's Lua httpCall() reaches any cluster of the proxy the code runs on (README:
    # traffic-extension-lua; extension/lua.go BuildHTTPLuaFilter): the ingress Gateway's and the
    # waypoint's external clusters too, whatever this page's code does.
    "extend-waypoint-lua/TrafficExtension/default/parity-at-gateway": "traffic-extension-lua",
    "extend-waypoint-lua/TrafficExtension/default/parity-at-waypoint": "traffic-extension-lua",
    "extend-waypoint-lua/TrafficExtension/default/parity-for-reviews": "traffic-extension-lua",
    # The archived SDS page sends an in-cluster name (nginx in the unmeshed mesh-external) through
    # the shared egress gateway. README: gateway-servers refuses in-cluster names on a server the
    # egress gateway pods take (mergeGateways, pilot/pkg/model/gateway.go), and
    # virtual-service-hosts a route to the egress gateway Service for one (it would ride another
    # namespace's gateway route on that port). The current page's form, with a real external
    # nginx.example.com, is admitted (egress-gateway-tls-origination.yaml).
    "egress-gateway-tls-origination-sds/Gateway/default/istio-egressgateway": "gateway-servers",
    (
        "egress-gateway-tls-origination-sds/VirtualService/default/"
        "direct-nginx-through-egress-gateway"
    ): "virtual-service-hosts",
}

#: Pages whose objects need a policy other than ORDINARY_POLICY.
POLICIES: dict[str, CompiledPolicy] = {
    "egress-gateway-gateway-api.yaml": GATEWAY_API_EGRESS_POLICY,
    "egress-gateway-tls-origination-gateway-api.yaml": GATEWAY_API_EGRESS_POLICY,
    "ambient-egress.yaml": AMBIENT_EGRESS_POLICY,
    "ambient-waypoints.yaml": AMBIENT_EGRESS_POLICY,
    "multi-namespace.yaml": MULTI_NAMESPACE_POLICY,
}


def _rows() -> list[Any]:
    rows = []
    for path in sorted(CATALOGUE.glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", "default")
            name = f"{path.stem}/{obj['kind']}/{meta['namespace']}/{meta['name']}"
            policy = POLICIES.get(path.name, ORDINARY_POLICY)
            rows.append(pytest.param(obj, policy, REFUSED.get(name), id=name))
    return rows


@pytest.mark.parametrize(("obj", "policy", "refused_by"), _rows())
def test_ordinary_configuration_is_admitted(
    obj: dict[str, Any], policy: CompiledPolicy, refused_by: str | None
) -> None:
    decision = evaluate(obj, policy)
    assert decision.handled, f"{obj['kind']} is not a handled kind"
    assert not decision.exempt
    assert [v for v in decision.violations if v.rule == SCHEMA_RULE] == []
    found = [f"{v.rule} {v.field}: {v.message}" for v in decision.violations]
    if refused_by is None:
        assert found == []
    else:
        assert {v.rule for v in decision.violations} == {refused_by}, found


def test_every_expected_refusal_names_a_row() -> None:
    assert set(REFUSED) <= {row.id for row in _rows()}
