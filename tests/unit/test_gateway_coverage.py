"""gateway-coverage and coverage-kept, with the in-memory MeshView (StaticMeshView)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import (
    GATEWAY,
    RULES_POLICY,
    RULES_POLICY_YAML,
    dest,
    egress_tls_routes,
    tls_service_entry,
    virtual_service,
)
from tests.unit.test_ordinary_configurations import GATEWAY_API_EGRESS_POLICY, ORDINARY_POLICY
from webhook.policy.decision import Decision
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.view import StaticMeshView

SE = tls_service_entry("api.github.com", namespace="payments")


def _vs(namespace: str = "payments", name: str = "github", **spec: Any) -> dict[str, Any]:
    spec.setdefault("hosts", ["api.github.com"])
    spec.setdefault("gateways", ["mesh", "istio-system/istio-egressgateway"])
    spec.setdefault("tls", egress_tls_routes("api.github.com"))
    return virtual_service(namespace, name, **spec)


COVERING = _vs()


def _decide(
    obj: dict[str, Any],
    objects: list[dict[str, Any]],
    *,
    policy: CompiledPolicy = RULES_POLICY,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    stale: str = "",
) -> Decision:
    view = StaticMeshView(objects, stale_reason=stale)
    return evaluate(obj, policy, view=view, operation=operation, old_object=old)


def _rules(decision: Decision) -> set[str]:
    return {v.rule for v in decision.violations}


@pytest.mark.parametrize(
    ("objects", "covered"),
    [
        ([], False),
        ([COVERING], True),
        # another namespace's VirtualService is visible unless its exportTo says otherwise
        ([_vs("other")], True),
        ([_vs("other", exportTo=["."])], False),
        # Door: the entry (exportTo unset: every namespace) reaches sidecars elsewhere that
        # do not see a VirtualService exported to its namespace only (IsServiceVisible)
        ([_vs("other", exportTo=["payments"])], False),
        # a mesh leg on another port does not cover 443
        ([_vs(tls=[{"match": [{"port": 8443, "sniHosts": ["api.github.com"]}],
                    "route": [dest(GATEWAY, 443)]}], gateways=["mesh"])], False),
        # a wildcard VirtualService host covers the entry's exact host
        ([_vs(hosts=["*.github.com"], gateways=["mesh"],
              tls=[{"match": [{"port": 443}], "route": [dest(GATEWAY, 443)]}])], True),
        # a VirtualService only at the egress gateway (no mesh leg) is not coverage
        ([_vs(gateways=["istio-system/istio-egressgateway"],
              tls=[egress_tls_routes()[1]])], False),
        # Door: a TLS port's listener reads only tls routes; with no TLS match its
        # SNI-matched chain goes straight out (buildSidecarOutboundTLSFilterChainOpts)
        ([_vs(gateways=["mesh"], tls=[], http=[{"route": [dest(GATEWAY, 443)]}])], False),
        ([_vs(gateways=["mesh"], tls=[], tcp=[{"route": [dest(GATEWAY, 443)]}])], False),
        # Door: pods without the label, or of other namespaces, miss the match (matchTLS)
        ([_vs(gateways=["mesh"], tls=[{"match": [{"port": 443, "sniHosts": ["api.github.com"],
                                                  "sourceLabels": {"app": "canary"}}],
                                       "route": [dest(GATEWAY, 443)]}])], False),
        ([_vs(gateways=["mesh"], tls=[{"match": [{"port": 443, "sniHosts": ["api.github.com"],
                                                  "sourceNamespace": "payments"}],
                                       "route": [dest(GATEWAY, 443)]}])], False),
        # Door: a TLS listener picks VirtualServices with the case-sensitive
        # host.Name.Matches (getConfigsForHost): API.GITHUB.COM is not api.github.com there
        ([_vs(hosts=["API.GITHUB.COM"], gateways=["mesh"],
              tls=[{"match": [{"port": 443, "sniHosts": ["API.GITHUB.COM"]}],
                    "route": [dest(GATEWAY, 443)]}])], False),
    ],
    ids=["none", "same-ns", "other-ns", "other-ns-private", "exported-to-ns", "other-port",
         "wildcard", "gateway-only", "http-route-on-tls-port", "tcp-route-on-tls-port",
         "source-labels", "source-namespace", "upper-case-host"],
)  # fmt: skip
def test_a_service_entry_needs_a_covering_virtual_service(
    objects: list[dict[str, Any]], covered: bool
) -> None:
    decision = _decide(SE, objects)
    assert decision.allowed is covered, decision.message()
    if not covered:
        message = decision.message()
        assert 'host "api.github.com" port 443 is not covered' in message
        assert "kind: VirtualService" in message
        assert GATEWAY in message


@pytest.mark.parametrize(
    ("entry_export", "objects", "covered"),
    [
        # an entry kept to its namespace needs a route only there
        (["."], [_vs(exportTo=["."])], True),
        (["."], [_vs("other", exportTo=["payments"])], True),
        (["payments"], [_vs(exportTo=["."])], True),
        (["~"], [], True),
        # Door: each namespace the entry is exported to reads its own VirtualServices
        # (SelectVirtualServices), so each needs one sending the host to the gateway
        ([".", "shop"], [_vs(exportTo=["."])], False),
        ([".", "shop"], [_vs(exportTo=[".", "shop"])], True),
        ([".", "shop"], [_vs(exportTo=["."]), _vs("shop", "shop-github", exportTo=["."])], True),
        (["*"], [_vs(exportTo=[".", "shop"])], False),
        (["*"], [_vs(exportTo=["*"])], True),
        # the egress gateway's namespace and other exempt ones are trusted
        ([".", "istio-system"], [_vs(exportTo=["."])], True),
        # Door: a VirtualService whose exportTo holds ~ beside names is indexed nowhere
        # (initVirtualServices skips a set containing ~ unless it holds *); only Istio's
        # own validating webhook refuses the list
        (["."], [_vs(exportTo=[".", "~"])], False),
        (["."], [_vs(exportTo=["payments", "~"])], False),
        (["."], [_vs(exportTo=["*", "~"])], True),
    ],
    ids=["private", "private-by-other-ns", "own-ns-by-name", "nowhere", "shop-uncovered",
         "shop-by-export", "shop-by-its-own", "everywhere-uncovered", "everywhere",
         "exempt-ns", "vs-private-and-none", "vs-named-and-none", "vs-public-and-none"],
)  # fmt: skip
def test_coverage_is_owed_in_every_namespace_the_entry_is_exported_to(
    entry_export: list[str], objects: list[dict[str, Any]], covered: bool
) -> None:
    entry = tls_service_entry("api.github.com", namespace="payments", exportTo=entry_export)
    decision = _decide(entry, objects)
    assert ("gateway-coverage" not in _rules(decision)) is covered, decision.message()
    if not covered:
        assert any(
            where in decision.message() for where in ("every namespace", '"shop"', '"payments"')
        )


def _l4(**match: Any) -> list[dict[str, Any]]:
    return [{"match": [{"port": 5432, **match}], "route": [dest(GATEWAY, 5432)]}]


#: Other rules refuse 5432 for api.github.com; only gateway-coverage is looked at here.
_ANY_PORT_POLICY = RULES_POLICY

_HTTP = [{"match": [{"port": 5432}], "route": [dest(GATEWAY, 5432)]}]


@pytest.mark.parametrize(
    ("protocol", "routes", "covered"),
    [
        ("HTTP", {"http": _HTTP}, True),
        ("HTTP", {"tcp": _l4()}, False),  # an HTTP listener reads only http routes
        ("TCP", {"tcp": _l4()}, True),
        ("TCP", {"http": _HTTP}, False),
        ("MONGO", {"tcp": _l4()}, True),
        # Door: a TCP match on some destination subnets leaves a direct default chain for
        # the others (buildSidecarOutboundTCPFilterChainOpts)
        ("TCP", {"tcp": _l4(destinationSubnets=["10.0.0.0/8"])}, False),
        # Door: an undeclared port is sniffed: HTTP takes the http routes, the rest the tcp
        # ones (ListenerProtocolAuto), so it needs both
        (None, {"tcp": _l4()}, False),
        (None, {"http": _HTTP}, False),
        (None, {"http": _HTTP, "tcp": _l4()}, True),
    ],
    ids=["http", "http-by-tcp-route", "tcp", "tcp-by-http-route", "mongo", "tcp-subnets",
         "undeclared-by-tcp-route", "undeclared-by-http-route", "undeclared-by-both"],
)  # fmt: skip
def test_the_covering_routes_are_the_ones_the_ports_listener_reads(
    protocol: str | None, routes: dict[str, Any], covered: bool
) -> None:
    port: dict[str, Any] = {"number": 5432, "name": "p"}
    if protocol is not None:
        port["protocol"] = protocol
    entry = tls_service_entry("api.github.com", namespace="payments", ports=[port])
    vs = _vs(gateways=["mesh"], **{"tls": [], **routes})
    decision = _decide(entry, [vs], policy=_ANY_PORT_POLICY)
    assert ("gateway-coverage" not in _rules(decision)) is covered, decision.message()


def test_the_suggested_virtual_service_for_an_undeclared_port_has_both_routes() -> None:
    entry = tls_service_entry("api.github.com", namespace="payments",
                              ports=[{"number": 5432, "name": "p"}])  # fmt: skip
    [finding] = [v for v in _decide(entry, [], policy=_ANY_PORT_POLICY).violations
                 if v.rule == "gateway-coverage"]  # fmt: skip
    suggested = yaml.safe_load(finding.message[finding.message.index("apiVersion:") :])
    assert {"http", "tcp"} <= set(suggested["spec"])
    decision = _decide(entry, [suggested], policy=_ANY_PORT_POLICY)
    assert "gateway-coverage" not in _rules(decision)


def test_without_a_view_coverage_is_not_checked() -> None:
    assert evaluate(SE, RULES_POLICY).allowed


def test_a_stale_view_fails_closed_with_the_reason() -> None:
    decision = _decide(SE, [COVERING], stale="watch of virtualservices disconnected for 40s")
    assert not decision.allowed
    assert "view of the cluster is stale (watch of virtualservices" in decision.message()


@pytest.mark.parametrize(
    ("mode", "allowed", "warned"), [("warn", True, True), ("off", True, False)]
)
def test_coverage_modes(mode: str, allowed: bool, warned: bool) -> None:
    policy = policy_from(
        RULES_POLICY_YAML.replace("egressGateway:\n", f"egressGateway:\n  coverage: {mode}\n")
    )
    decision = _decide(SE, [], policy=policy)
    assert decision.allowed is allowed
    assert any("gateway-coverage" in w for w in decision.warnings) is warned


def test_deleting_the_covering_virtual_service_is_refused_naming_the_entry() -> None:
    decision = _decide(COVERING, [SE, COVERING], operation="DELETE")
    assert not decision.allowed
    assert _rules(decision) == {"coverage-kept"}
    assert "ServiceEntry payments/se" in decision.message()
    assert "delete ServiceEntry payments/se first" in decision.message()


def test_deleting_it_is_allowed_once_the_entry_is_gone_or_another_covers() -> None:
    assert _decide(COVERING, [COVERING], operation="DELETE").allowed
    other = _vs(name="github-too")
    assert _decide(COVERING, [SE, COVERING, other], operation="DELETE").allowed


def test_delete_runs_only_delete_rules() -> None:
    # a non-compliant VirtualService can always be deleted when nothing depends on it
    bad = virtual_service("payments", "bad", hosts=["evil.example.org"],
                          http=[{"route": [dest("evil.example.org")]}])  # fmt: skip
    assert _decide(bad, [bad], operation="DELETE").allowed


def test_an_update_that_drops_the_mesh_leg_is_refused() -> None:
    updated = _vs(gateways=["istio-system/istio-egressgateway"], tls=[egress_tls_routes()[1]])
    decision = _decide(updated, [SE, COVERING], operation="UPDATE", old=COVERING)
    assert _rules(decision) == {"coverage-kept"}
    assert _decide(COVERING, [SE, COVERING], operation="UPDATE", old=COVERING).allowed


@pytest.mark.parametrize(
    ("old", "updated", "kept"),
    [
        (COVERING, _vs(), True),
        # Door: the updated VirtualService was counted wherever the entry lives, whatever
        # its new exportTo; SelectVirtualServices reads the index exportTo builds
        (COVERING, _vs(exportTo=["~"]), False),
        (COVERING, _vs(exportTo=["elsewhere"]), False),
        (_vs("other"), _vs("other", exportTo=["."]), False),
        # Door: the entry is exported everywhere; the route now reaches only its namespace
        (_vs("other"), _vs("other", exportTo=["payments"]), False),
        (COVERING, _vs(exportTo=["."]), False),
        (COVERING, _vs(exportTo=["*"]), True),
        # Door: ~ beside * is still public, beside names it hides the VirtualService
        (COVERING, _vs(exportTo=["*", "~"]), True),
    ],
    ids=["unchanged", "export-nowhere", "export-elsewhere", "other-ns-made-private",
         "other-ns-exported-to-entry", "same-ns-private", "exported-everywhere",
         "public-and-none"],
)  # fmt: skip
def test_an_update_narrowing_export_to_keeps_coverage_only_where_it_still_reaches(
    old: dict[str, Any], updated: dict[str, Any], kept: bool
) -> None:
    decision = _decide(updated, [SE, old], operation="UPDATE", old=old)
    assert ("coverage-kept" not in _rules(decision)) is kept, decision.message()


def test_a_per_namespace_gateway_selecting_the_egress_pods_is_an_egress_gateway() -> None:
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"namespace": "payments", "name": "egress"},
        "spec": {"selector": {"istio": "egressgateway"}, "servers": []},
    }
    vs = _vs(gateways=["mesh", "egress"], tls=egress_tls_routes(gateway_ref="egress"))
    assert _decide(vs, [gateway]).allowed
    assert "gateway-routing" in _rules(evaluate(vs, RULES_POLICY))  # without the view: not listed
    ingress = {**gateway, "spec": {"selector": {"istio": "ingressgateway"}}}
    assert "gateway-routing" in _rules(_decide(vs, [ingress]))


_ORDINARY = Path(__file__).parent / "ordinary"


def _page(name: str) -> list[dict[str, Any]]:
    objects = list(yaml.safe_load_all((_ORDINARY / f"{name}.yaml").read_text()))
    for obj in objects:
        obj["metadata"].setdefault("namespace", "default")
    return objects


@pytest.mark.parametrize(
    ("page", "entry", "covered"),
    [
        # The guides' egress-gateway pairs, with their ports declared http-port/HTTP,
        # https/HTTPS and tls/TLS: each port is covered by the routes its listener reads
        # (port 443 of "cnn" by the TLS section's tls route).
        ("egress-gateway", "cnn", True),
        ("egress-gateway", "cnn-tls", True),
        ("wildcard-egress-hosts", "wikipedia", True),
        ("wildcard-egress-hosts", "www-wikipedia", True),
        ("wildcard-egress-hosts", "wikipedia-hosts", True),
        # Door: the mutual TLS origination page routes only port 80 to the gateway; its
        # entry's HTTPS port 443 keeps the SNI-matched chain straight to nginx.example.com
        # (buildSidecarOutboundTLSFilterChainOpts).
        ("egress-gateway-tls-origination", "nginx", False),
    ],
)
def test_the_guides_egress_gateway_pages_are_covered(page: str, entry: str, covered: bool) -> None:
    objects = _page(page)
    obj = next(o for o in objects if o["kind"] == "ServiceEntry" and o["metadata"]["name"] == entry)
    routes = [o for o in objects if o["kind"] == "VirtualService"]
    decision = _decide(obj, routes, policy=ORDINARY_POLICY)
    assert ("gateway-coverage" not in _rules(decision)) is covered, decision.message()


# ------------------------------------------------------------ Gateway API routes (GAMMA)

#: The ServiceEntry "se" as a route's parentRef names it.
_SE_PARENT = {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "se"}
_TO_GATEWAY = {"name": "istio-egressgateway", "namespace": "istio-system", "port": 443}

HTTP_SE = tls_service_entry(
    "api.github.com", namespace="payments", ports=[{"number": 443, "name": "h", "protocol": "HTTP"}]
)


def _route(
    kind: str = "HTTPRoute",
    namespace: str = "payments",
    name: str = "github",
    *,
    parents: list[dict[str, Any]] | None = None,
    backends: list[dict[str, Any]] | None = None,
    **rule: Any,
) -> dict[str, Any]:
    group_version = {
        "HTTPRoute": "v1", "GRPCRoute": "v1", "TLSRoute": "v1alpha2", "TCPRoute": "v1alpha2"
    }[kind]  # fmt: skip
    return {
        "apiVersion": f"gateway.networking.k8s.io/{group_version}",
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name},
        "spec": {
            "parentRefs": [_SE_PARENT] if parents is None else parents,
            "rules": [{"backendRefs": [_TO_GATEWAY] if backends is None else backends, **rule}],
        },
    }


_MIRROR = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "sink", "port": 80}}}


@pytest.mark.parametrize(
    ("entry", "route", "covered"),
    [
        (HTTP_SE, _route(), True),
        (HTTP_SE, _route("GRPCRoute"), True),
        (SE, _route("TLSRoute"), True),
        # the API server's defaults (a PathPrefix / match, a Service backend of weight 1)
        (HTTP_SE, _route(matches=[{"path": {"type": "PathPrefix", "value": "/"}}],
                         backends=[{**_TO_GATEWAY, "group": "", "kind": "Service",
                                    "weight": 1}]), True),
        # matches do not matter: a request no rule matches finds no route and gets a 404
        # from the sidecar (BuildHTTPRoutesForVirtualService adds no fallback), never the
        # direct route, as for a VirtualService's http match
        (HTTP_SE, _route(matches=[{"path": {"type": "PathPrefix", "value": "/v1"}}]), True),
        # the parentRef's port is added to every match (augmentPortMatch)
        (HTTP_SE, _route(parents=[{**_SE_PARENT, "port": 443}]), True),
        (HTTP_SE, _route(parents=[{**_SE_PARENT, "port": 8443}]), False),
        # the route's kind must be one the port's listener reads
        (HTTP_SE, _route("TLSRoute"), False),
        (HTTP_SE, _route("TCPRoute"), False),
        (SE, _route(), False),
        # Door: a mirror copies every request elsewhere; a second backend takes a share
        (HTTP_SE, _route(filters=[_MIRROR]), False),
        (HTTP_SE, _route(backends=[_TO_GATEWAY, {"name": "proxy", "port": 443}]), False),
        (HTTP_SE, _route(backends=[{"group": "networking.istio.io", "kind": "Hostname",
                                    "name": "api.github.com", "port": 443}]), False),
        (HTTP_SE, _route(backends=[]), False),
        # a parent other than this entry: another name, namespace, kind or group
        (HTTP_SE, _route(parents=[{**_SE_PARENT, "name": "other"}]), False),
        (HTTP_SE, _route(parents=[{**_SE_PARENT, "namespace": "shop"}]), False),
        (HTTP_SE, _route(parents=[{"kind": "Service", "name": "se"}]), False),
        (HTTP_SE, _route(parents=[{**_SE_PARENT, "group": "gateway.networking.k8s.io"}]),
         False),
        # a TLSRoute's hostnames become its sniHosts (buildTLSMatch)
        (SE, {**_route("TLSRoute"), "spec": {**_route("TLSRoute")["spec"],
                                             "hostnames": ["api.github.com"]}}, True),
        (SE, {**_route("TLSRoute"), "spec": {**_route("TLSRoute")["spec"],
                                             "hostnames": ["*.github.com"]}}, True),
        (SE, {**_route("TLSRoute"), "spec": {**_route("TLSRoute")["spec"],
                                             "hostnames": ["github.com"]}}, False),
        # Door: a consumer route (another namespace, parent named with its namespace)
        # applies to its own namespace's sidecars only
        # (buildSidecarVirtualHostsForVirtualService); the entry is exported everywhere
        (HTTP_SE, _route(namespace="shop", parents=[{**_SE_PARENT, "namespace": "payments"}]),
         False),
    ],
    ids=["http", "grpc", "tls", "api-server-defaults", "some-paths", "parent-port",
         "parent-port-mismatch", "tls-route-on-http-port", "tcp-route-on-http-port",
         "http-route-on-tls-port", "mirror", "second-backend", "hostname-backend",
         "no-backends", "other-entry", "other-namespace", "service-parent", "wrong-group",
         "tls-hostname", "tls-wildcard-hostname", "tls-other-hostname",
         "consumer-route"],
)  # fmt: skip
def test_a_gateway_api_route_attached_to_the_entry_covers_it(
    entry: dict[str, Any], route: dict[str, Any], covered: bool
) -> None:
    decision = _decide(entry, [route])
    assert ("gateway-coverage" not in _rules(decision)) is covered, decision.message()


def test_a_consumer_route_covers_its_own_namespace_only() -> None:
    consumer = _route(namespace="shop", parents=[{**_SE_PARENT, "namespace": "payments"}])
    producer = _route(name="producer")
    for export, objects, covered in [
        (["shop"], [consumer], True),
        ([".", "shop"], [consumer], False),  # payments' sidecars still go direct
        ([".", "shop"], [consumer, producer], True),
        (["*"], [producer], True),  # a producer route reaches every namespace
    ]:
        entry = {**HTTP_SE, "spec": {**HTTP_SE["spec"], "exportTo": export}}
        decision = _decide(entry, objects)
        assert ("gateway-coverage" not in _rules(decision)) is covered, (export, objects)


def test_an_http_route_does_nothing_for_a_wildcard_host() -> None:
    # separateVSHostsAndServices: a gateway-semantics wildcard host matches no service
    entry = tls_service_entry(
        "*.github.com", namespace="payments", resolution="NONE",
        ports=[{"number": 443, "name": "h", "protocol": "HTTP"}],
    )  # fmt: skip
    assert "gateway-coverage" in _rules(_decide(entry, [_route()]))
    tls = tls_service_entry("*.github.com", namespace="payments", resolution="NONE")
    assert "gateway-coverage" not in _rules(_decide(tls, [_route("TLSRoute")]))


def test_the_egress_gateway_tasks_gateway_api_tab_is_covered() -> None:
    objects = _page("egress-gateway-gateway-api")
    entry = next(o for o in objects if o["kind"] == "ServiceEntry")
    decision = _decide(entry, objects, policy=GATEWAY_API_EGRESS_POLICY)
    assert "gateway-coverage" not in _rules(decision), decision.message()
    # port 80 by the HTTPRoute, 443 (HTTPS) by the TLSRoute: each is needed
    for kind in ("HTTPRoute", "TLSRoute"):
        rest = [o for o in objects if o["kind"] != kind]
        decision = _decide(entry, rest, policy=GATEWAY_API_EGRESS_POLICY)
        assert "gateway-coverage" in _rules(decision), kind


def test_deleting_the_covering_route_is_refused_naming_the_entry() -> None:
    route = _route()
    decision = _decide(route, [HTTP_SE, route], operation="DELETE")
    assert _rules(decision) == {"coverage-kept"}
    assert "deleting HTTPRoute payments/github" in decision.message()
    assert "delete ServiceEntry payments/se first" in decision.message()
    # allowed once the entry is gone, or while another route or a VirtualService covers it
    assert _decide(route, [route], operation="DELETE").allowed
    other = _route(name="github-too")
    assert _decide(route, [HTTP_SE, route, other], operation="DELETE").allowed
    vs = _vs(gateways=["mesh"], tls=[], http=[{"route": [dest(GATEWAY, 443)]}])
    assert _decide(route, [HTTP_SE, route, vs], operation="DELETE").allowed


@pytest.mark.parametrize(
    ("updated", "kept"),
    [
        (_route(), True),
        (_route(filters=[_MIRROR]), False),
        (_route(backends=[_TO_GATEWAY, {"name": "proxy", "port": 443}]), False),
        (_route(parents=[{**_SE_PARENT, "port": 8443}]), False),
        (_route(parents=[{**_SE_PARENT, "name": "other"}]), False),  # detached from the entry
        (_route(namespace="payments", parents=[]), False),
    ],
    ids=["unchanged", "mirror", "second-backend", "port", "other-parent", "no-parent"],
)  # fmt: skip
def test_an_update_uncovering_the_entry_is_refused(updated: dict[str, Any], kept: bool) -> None:
    old = _route()
    decision = _decide(updated, [HTTP_SE, old], operation="UPDATE", old=old)
    assert ("coverage-kept" not in _rules(decision)) is kept, decision.message()


def test_a_route_change_with_a_stale_view_is_refused() -> None:
    route = _route()
    decision = _decide(route, [HTTP_SE, route], operation="DELETE", stale="not synced")
    assert not decision.allowed
    assert "view of the cluster is stale" in decision.message()


def test_a_socket_only_entry_owes_no_coverage_even_when_every_host_needs_the_gateway() -> None:
    # requireFor "*": every host is gateway-required, but a STATIC entry whose endpoints are
    # all unix sockets in the caller's pod sends nothing out (mesh_workloads.py).
    policy = policy_from(RULES_POLICY_YAML.replace("requireFor: [", 'requireFor: ["*", '))
    uds = {"address": "unix:///var/run/example/socket"}
    entry = tls_service_entry(
        "example.unix.local", resolution="STATIC", endpoints=[uds], namespace="payments"
    )
    assert _decide(entry, [], policy=policy).allowed
    leaking = tls_service_entry(
        "example.unix.local",
        resolution="STATIC",
        endpoints=[uds, {"address": "192.168.1.10"}],
        namespace="payments",
    )
    assert not _decide(leaking, [], policy=policy).allowed


def _sidecar(
    namespace: str = "payments", name: str = "default", hosts: list[str] | None = None, **spec: Any
) -> dict[str, Any]:
    if hosts is not None:
        spec["egress"] = [{"hosts": hosts}]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
    }


#: A VirtualService of another namespace, exported everywhere, that covers SE.
PLATFORM = _vs("platform", "github-egress")


@pytest.mark.parametrize(
    ("objects", "covered"),
    [
        ([PLATFORM], True),
        # Door: pods whose Sidecar imports only their own namespace get the entry and not
        # the VirtualService (convertIstioListenerToWrapper: selectServices and
        # SelectVirtualServices both go by the namespace each object lives in)
        ([PLATFORM, _sidecar(hosts=["./*", "istio-system/*"])], False),
        ([PLATFORM, _sidecar(hosts=["./*"], workloadSelector={"labels": {"app": "a"}})], False),
        ([PLATFORM, _sidecar(hosts=["*/*", "~platform/*"])], False),
        ([PLATFORM, _sidecar(hosts=["./*", "platform/*"])], True),
        ([PLATFORM, _sidecar(hosts=["*/api.github.com"])], True),
        ([PLATFORM, _sidecar()], True),  # no egress listener: */*
        # the VirtualService beside the entry: no hosts list takes one without the other
        ([COVERING, _sidecar(hosts=["./*"])], True),
        ([COVERING, _sidecar(hosts=["./api.github.com"])], True),
        # a Sidecar that does not import the entry needs nothing from it
        ([PLATFORM, _sidecar(hosts=["./other.example.com"])], True),
        # Door: another namespace the entry reaches (exportTo unset) whose Sidecar imports
        # the entry but not the covering VirtualService's namespace
        ([PLATFORM, _sidecar("shop", hosts=["payments/*"])], False),
        ([COVERING, _sidecar("shop", hosts=["payments/*"])], True),
        ([COVERING, _sidecar("shop", hosts=["./*", "istio-system/*"])], True),
    ],
    ids=["platform-vs", "own-ns-only", "selected-pods", "excluded-ns", "imports-platform",
         "imports-host", "no-egress", "same-ns", "same-ns-exact", "entry-not-imported",
         "other-ns-sidecar", "other-ns-sidecar-same-ns-vs", "other-ns-sidecar-not-importing"],
)  # fmt: skip
def test_a_sidecar_that_drops_the_covering_virtual_service_leaves_the_entry_uncovered(
    objects: list[dict[str, Any]], covered: bool
) -> None:
    decision = _decide(SE, objects)
    assert ("gateway-coverage" not in _rules(decision)) is covered, decision.message()


@pytest.mark.parametrize(
    ("objects", "sidecar", "kept"),
    [
        ([SE, PLATFORM], _sidecar(hosts=["./*", "istio-system/*"]), False),
        ([SE, PLATFORM], _sidecar(hosts=["./*"], workloadSelector={"labels": {"app": "a"}}),
         False),
        ([SE, PLATFORM], _sidecar(hosts=["*/*", "~platform/*"]), False),
        ([SE, PLATFORM], _sidecar("shop", hosts=["payments/*"]), False),
        ([SE, PLATFORM], _sidecar(hosts=["./*", "platform/*"]), True),
        ([SE, COVERING], _sidecar(hosts=["./*", "istio-system/*"]), True),
        ([SE, COVERING], _sidecar("shop", hosts=["./*", "istio-system/*"]), True),
        ([PLATFORM], _sidecar(hosts=["./*"]), True),  # no entry to uncover
    ],
    ids=["own-ns-only", "selected-pods", "excluded-ns", "other-ns", "imports-platform",
         "same-ns-vs", "other-ns-not-importing", "no-entry"],
)  # fmt: skip
def test_a_sidecar_may_not_drop_the_virtual_service_covering_an_entry_it_imports(
    objects: list[dict[str, Any]], sidecar: dict[str, Any], kept: bool
) -> None:
    decision = _decide(sidecar, objects)
    assert ("coverage-kept" not in _rules(decision)) is kept, decision.message()
    if not kept:
        assert "ServiceEntry payments/se" in decision.message()
        assert "import the namespace of the VirtualService" in decision.message()
    # the same change as an UPDATE of an importing-everything Sidecar
    old = {**sidecar, "spec": {}}
    decision = _decide(sidecar, [*objects, old], operation="UPDATE", old=old)
    assert ("coverage-kept" not in _rules(decision)) is kept, decision.message()


def test_a_consumer_route_does_not_reach_pods_whose_sidecar_leaves_its_namespace_out() -> None:
    # The route's VirtualService sits in shop; a shop Sidecar importing payments/* only
    # gets the entry and not the route (SelectVirtualServices).
    consumer = _route(namespace="shop", parents=[{**_SE_PARENT, "namespace": "payments"}])
    entry = {**HTTP_SE, "spec": {**HTTP_SE["spec"], "exportTo": ["shop"]}}
    assert "gateway-coverage" not in _rules(_decide(entry, [consumer]))
    assert "gateway-coverage" in _rules(
        _decide(entry, [consumer, _sidecar("shop", hosts=["payments/*"])])
    )
    both = _sidecar("shop", hosts=["payments/*", "./*"])
    assert "gateway-coverage" not in _rules(_decide(entry, [consumer, both]))
    sidecar = _sidecar("shop", hosts=["payments/*"])
    assert "coverage-kept" in _rules(_decide(sidecar, [entry, consumer]))
    # a producer route (beside the entry) is imported with it
    producer = _route()
    assert _decide(sidecar, [HTTP_SE, producer]).allowed


def test_a_sidecar_update_that_starts_importing_an_entry_needs_its_covering_route() -> None:
    # Before: the pods import only their namespace, so shared's entry never reaches them.
    # After: they import it, and not platform's VirtualService that covers it.
    shared = tls_service_entry("api.github.com", namespace="shared")
    old = _sidecar(hosts=["./*"])
    new = _sidecar(hosts=["./*", "shared/*"])
    decision = _decide(new, [shared, PLATFORM, old], operation="UPDATE", old=old)
    assert _rules(decision) == {"coverage-kept"}, decision.message()
    assert "ServiceEntry shared/se" in decision.message()
    both = _sidecar(hosts=["./*", "shared/*", "platform/*"])
    assert _decide(both, [shared, PLATFORM, old], operation="UPDATE", old=old).allowed


def test_an_update_adding_none_beside_names_hides_the_virtual_service() -> None:
    # initVirtualServices: a set holding ~ (and not *) is indexed for no namespace
    entry = tls_service_entry("api.github.com", namespace="payments", exportTo=["."])
    old = _vs(exportTo=["."])
    for export, kept in [([".", "~"], False), (["payments", "~"], False), (["payments"], True)]:
        decision = _decide(_vs(exportTo=export), [entry, old], operation="UPDATE", old=old)
        assert ("coverage-kept" not in _rules(decision)) is kept, (export, decision.message())


def test_a_sidecar_change_spares_entries_already_uncovered_elsewhere() -> None:
    # Covered for payments' pods only (the VirtualService is exported to payments): the
    # entry, exported everywhere, already goes straight out from every other namespace, so
    # a Sidecar dropping the VirtualService is not what uncovers it (as for a VirtualService
    # change: coverage-kept judges what was covered).
    for_payments = _vs("platform", "github-egress", exportTo=["payments"])
    sidecar = _sidecar(hosts=["./*", "istio-system/*"])
    assert "coverage-kept" not in _rules(_decide(sidecar, [SE, for_payments]))
    # Once covered everywhere, the same Sidecar is refused; one elsewhere that does not
    # import payments is not even looked at there.
    assert "coverage-kept" in _rules(_decide(sidecar, [SE, PLATFORM]))
    assert _decide(_sidecar("shop", hosts=["./*"]), [SE, PLATFORM]).allowed


#: Ambient mode: istio-egress/egress-waypoint is the approved egress waypoint.
AMBIENT_POLICY = policy_from(
    RULES_POLICY_YAML.replace(
        "  gateways: [istio-system/istio-egressgateway]",
        "  gateways: [istio-system/istio-egressgateway]\n"
        "  waypoints: [istio-egress/egress-waypoint]",
    )
)
_BOUND = {
    "istio.io/use-waypoint": "egress-waypoint",
    "istio.io/use-waypoint-namespace": "istio-egress",
}


def _entry(namespace: str = "payments", labels: dict[str, str] | None = None) -> dict[str, Any]:
    entry = tls_service_entry("api.github.com", namespace=namespace)
    if labels:
        entry["metadata"]["labels"] = labels
    return entry


@pytest.mark.parametrize(
    ("entry", "objects", "rules"),
    [
        # Door: ztunnel reads no VirtualService; an entry with no waypoint of its own, in a
        # namespace that is not the egress waypoint's, sends ambient pods straight out
        # (fetchWaypointForService), whatever the VirtualService does for sidecars
        (_entry(), [COVERING], {"gateway-coverage"}),
        (_entry(labels={"app": "github"}), [COVERING], {"gateway-coverage"}),
        # bound by its label to the approved waypoint, and covered for sidecars
        (_entry(labels=_BOUND), [COVERING], set()),
        # in the approved waypoint's namespace, enrolled there (docs/ambient/usage/egress-gateway)
        (_entry("istio-egress"), [_vs("istio-egress")], set()),
        # bound, but sidecars (which never send to a Service's waypoint) would go direct
        (_entry(labels=_BOUND), [], {"gateway-coverage"}),
        # another waypoint is routing-labels' to refuse, not this rule's
        (_entry(labels={"istio.io/use-waypoint": "mine"}), [COVERING], {"routing-labels"}),
    ],
)
def test_in_ambient_mode_the_entry_must_use_an_approved_waypoint(
    entry: dict[str, Any], objects: list[dict[str, Any]], rules: set[str]
) -> None:
    assert _rules(_decide(entry, objects, policy=AMBIENT_POLICY)) == rules


def test_the_waypoint_finding_says_how_to_bind_the_entry() -> None:
    (violation,) = _decide(_entry(), [COVERING], policy=AMBIENT_POLICY).violations
    assert "istio.io/use-waypoint: egress-waypoint" in violation.message
    assert "istio.io/use-waypoint-namespace: istio-egress" in violation.message
    assert "ztunnel" in violation.message


def test_without_approved_waypoints_the_label_is_not_required() -> None:
    assert _rules(_decide(_entry(), [COVERING])) == set()
