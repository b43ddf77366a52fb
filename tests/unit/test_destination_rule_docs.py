"""DestinationRules as a whole: Istio's documented ones pass every rule; scope follows exportTo."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.destination_rule_objects import (
    DOCS,
    DR_POLICY,
    destination_rule,
    on_port,
    subset,
    tls,
    tunnel,
)
from tests.unit.istio_objects import GATEWAY, decide, findings


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
@pytest.mark.parametrize("name", sorted(DOCS))
def test_documented_rules_are_admitted(name: str, version: str) -> None:
    obj = {**DOCS[name], "apiVersion": f"networking.istio.io/{version}"}
    decision = decide(obj, DR_POLICY)
    assert decision.handled
    assert decision.allowed, decision.violations


def _export_fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in findings("export-scope", obj, DR_POLICY)]


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        # Exported by default, a rule for an exact restricted host still applies only to
        # ServiceEntries for that host (PushContext.destinationRule picks rules by the
        # service's hostname), which export-scope keeps within payments and istio-system.
        pytest.param(
            destination_rule("db.example.com", "payments", trafficPolicy=tls("SIMPLE")),
            [],
            id="restricted-host-default-export",
        ),
        pytest.param(
            destination_rule(
                "db.example.com", "payments", trafficPolicy=tls("SIMPLE", "db.example.com")
            ),
            [],
            id="restricted-host-own-sni-default-export",
        ),
        # Door: an unrestricted host's rule applies to other namespaces' traffic for payments'
        # entry of that host (exported everywhere), presenting payments' restricted name.
        pytest.param(
            destination_rule(
                "api.github.com", "payments", trafficPolicy=tls("SIMPLE", "db.example.com")
            ),
            ["spec.exportTo"],
            id="unrestricted-host-restricted-sni-default-export",
        ),
        pytest.param(
            destination_rule(
                "*.example.com", "payments", trafficPolicy=tls("SIMPLE", "db.example.com")
            ),
            ["spec.exportTo"],
            id="wildcard-host-restricted-sni-default-export",
        ),
        pytest.param(
            destination_rule(
                GATEWAY,
                "payments",
                trafficPolicy=tls("ISTIO_MUTUAL", "db.example.com"),
                exportTo=["default"],
            ),
            ["spec.exportTo[0]"],
            id="restricted-sni-exported",
        ),
        pytest.param(
            destination_rule(
                "corp-proxy.example.com",
                "payments",
                trafficPolicy=tunnel("db.example.com", 5432),
                exportTo=["*"],
            ),
            ["spec.exportTo[0]"],
            id="restricted-tunnel-target-exported",
        ),
        pytest.param(
            destination_rule(
                "db.example.com", "payments", trafficPolicy=tls("SIMPLE"), exportTo=["."]
            ),
            [],
            id="restricted-host-private",
        ),
        pytest.param(
            destination_rule(
                "db.example.com",
                "payments",
                trafficPolicy=tls("SIMPLE"),
                exportTo=["payments", "istio-system"],
            ),
            [],
            id="restricted-host-to-own-and-gateway-namespace",
        ),
        # setDestinationRules forces exportTo "." on a rule with a workloadSelector.
        pytest.param(
            destination_rule(
                "db.example.com",
                "payments",
                workloadSelector={"matchLabels": {"app": "billing"}},
                trafficPolicy=tls("SIMPLE"),
            ),
            [],
            id="workload-selector-is-private",
        ),
        pytest.param(
            destination_rule("api.github.com", trafficPolicy=tls("SIMPLE")),
            [],
            id="unrestricted-host-exported",
        ),
    ],
)
def test_export_scope(obj: dict[str, Any], fields: list[str]) -> None:
    assert _export_fields(obj) == fields


def test_one_rule_reports_every_door_it_opens() -> None:
    obj = destination_rule(
        "*",
        trafficPolicy={
            **tunnel("evil.example.org"),
            **on_port(443, {**tls("SIMPLE", "blocked.example.org")}),
        },
        subsets=[subset("s", {"loadBalancer": {"simple": "PASSTHROUGH"}})],
        exportTo=["*"],
    )
    decision = decide(obj, DR_POLICY)
    assert decision.rules_hit == (
        "destination-rule-tunnel",
        "destination-rule-sni",
        "destination-rule-passthrough",
    )


def test_the_egress_gateway_may_be_tunnelled_through_only_to_allowed_targets() -> None:
    ok = destination_rule(GATEWAY, subsets=[subset("gh", tunnel("api.github.com"))])
    assert decide(ok, DR_POLICY).allowed
    bad = destination_rule(GATEWAY, subsets=[subset("gh", tunnel("evil.example.org"))])
    assert not decide(bad, DR_POLICY).allowed
