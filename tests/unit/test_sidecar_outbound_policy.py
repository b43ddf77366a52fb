"""sidecar-outbound-policy: a tenant Sidecar cannot turn REGISTRY_ONLY back into ALLOW_ANY."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import GATEWAY, decide, findings
from tests.unit.sidecar_envoy_filter_objects import sidecar
from webhook.policy.rules.sidecar_outbound_policy import RULE

SQUID = {"host": "squid.shop.svc.cluster.local", "port": {"number": 3128}}
SYSTEM_EGRESS = [{"hosts": ["./*", "istio-system/*"]}]
INGRESS_PORT = {"number": 9080, "protocol": "HTTP", "name": "somename"}

BYPASSES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "namespace-wide ALLOW_ANY",
        sidecar(outboundTrafficPolicy={"mode": "ALLOW_ANY"}),
        ["spec.outboundTrafficPolicy.mode"],
    ),
    (
        "ALLOW_ANY for one workload",
        sidecar(
            workloadSelector={"labels": {"app": "x"}}, outboundTrafficPolicy={"mode": "ALLOW_ANY"}
        ),
        ["spec.outboundTrafficPolicy.mode"],
    ),
    (
        "ALLOW_ANY through a tenant forward proxy",
        sidecar(outboundTrafficPolicy={"mode": "ALLOW_ANY", "egressProxy": SQUID}),
        ["spec.outboundTrafficPolicy.mode", "spec.outboundTrafficPolicy.egressProxy"],
    ),
    (
        "ALLOW_ANY whose proxy is the egress gateway itself",
        sidecar(
            outboundTrafficPolicy={
                "mode": "ALLOW_ANY",
                "egressProxy": {"host": GATEWAY, "port": {"number": 443}},
            }
        ),
        ["spec.outboundTrafficPolicy.mode", "spec.outboundTrafficPolicy.egressProxy"],
    ),
    (
        "egressProxy without a mode (Istio's validation alone refuses it)",
        sidecar(outboundTrafficPolicy={"egressProxy": SQUID}),
        ["spec.outboundTrafficPolicy.egressProxy"],
    ),
    (
        "ALLOW_ANY hidden behind a harmless-looking egress list",
        sidecar(egress=SYSTEM_EGRESS, outboundTrafficPolicy={"mode": "ALLOW_ANY"}),
        ["spec.outboundTrafficPolicy.mode"],
    ),
    (
        "ALLOW_ANY in an older served version",
        sidecar(
            api_version="networking.istio.io/v1alpha3",
            outboundTrafficPolicy={"mode": "ALLOW_ANY"},
        ),
        ["spec.outboundTrafficPolicy.mode"],
    ),
    (
        "ALLOW_ANY in v1beta1, selecting every pod with an empty selector",
        sidecar(
            api_version="networking.istio.io/v1beta1",
            workloadSelector={"labels": {}},
            outboundTrafficPolicy={"mode": "ALLOW_ANY"},
        ),
        ["spec.outboundTrafficPolicy.mode"],
    ),
    (
        "ingress defaultEndpoint at an external IP (a STATIC inbound cluster out)",
        sidecar(ingress=[{"port": INGRESS_PORT, "defaultEndpoint": "8.8.8.8:80"}]),
        ["spec.ingress[0].defaultEndpoint"],
    ),
    (
        "ingress defaultEndpoint at an IPv4-mapped IPv6 address, in v1beta1",
        sidecar(
            api_version="networking.istio.io/v1beta1",
            ingress=[{"port": INGRESS_PORT, "defaultEndpoint": "[::ffff:8.8.8.8]:80"}],
        ),
        ["spec.ingress[0].defaultEndpoint"],
    ),
    (
        "ingress defaultEndpoint at a host name, second listener",
        sidecar(
            ingress=[
                {"port": INGRESS_PORT, "defaultEndpoint": "127.0.0.1:8080"},
                {"port": {**INGRESS_PORT, "number": 9081}, "defaultEndpoint": "evil.com:80"},
            ]
        ),
        ["spec.ingress[1].defaultEndpoint"],
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    ("sidecar reference: import own namespace and istio-system", sidecar(egress=SYSTEM_EGRESS)),
    (
        "egress-control: explicit REGISTRY_ONLY",
        sidecar(egress=SYSTEM_EGRESS, outboundTrafficPolicy={"mode": "REGISTRY_ONLY"}),
    ),
    ("empty policy: the proto default is REGISTRY_ONLY", sidecar(outboundTrafficPolicy={})),
    (
        "REGISTRY_ONLY for one workload",
        sidecar(
            workloadSelector={"labels": {"app": "ratings"}},
            outboundTrafficPolicy={"mode": "REGISTRY_ONLY"},
        ),
    ),
    ("no outbound policy at all", sidecar(egress=[{"hosts": ["*/*"]}])),
    (
        "inbound connection pool only",
        sidecar(inboundConnectionPool={"http": {"http1MaxPendingRequests": 100}}),
    ),
    *[
        (
            f"ingress defaultEndpoint {endpoint} (sidecar reference)",
            sidecar(ingress=[{"port": INGRESS_PORT, "defaultEndpoint": endpoint}]),
        )
        for endpoint in (
            "127.0.0.1:8080",
            "0.0.0.0:8080",
            "[::1]:8080",
            "[::]:8080",
            ":8080",
            "unix:///var/run/app.sock",
        )
    ],
]


@pytest.mark.parametrize(("why", "obj", "fields"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_refused(why: str, obj: dict[str, Any], fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj)] == fields


@pytest.mark.parametrize(("why", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_sidecars_pass(why: str, obj: dict[str, Any]) -> None:
    assert decide(obj).allowed, decide(obj).violations


def test_the_message_says_who_is_opened_and_the_fix() -> None:
    obj = sidecar(
        workloadSelector={"labels": {"app": "x"}}, outboundTrafficPolicy={"mode": "ALLOW_ANY"}
    )
    (found,) = findings(RULE, obj)
    assert 'workloads labelled app=x in namespace "shop" reach any host' in found.message
    assert "remove it (the mesh default REGISTRY_ONLY applies)" in found.message


def test_a_numeric_mode_is_not_read_as_registry_only() -> None:
    # protojson reads 1 as ALLOW_ANY; the CRD's enum refuses it, and so does the schema here.
    decision = decide(sidecar(outboundTrafficPolicy={"mode": 1}))
    assert not decision.allowed
    assert [v.rule for v in decision.violations] == ["schema"]


def test_the_root_namespace_is_exempt_by_policy_not_by_kind() -> None:
    assert decide(sidecar("istio-system", outboundTrafficPolicy={"mode": "ALLOW_ANY"})).exempt
