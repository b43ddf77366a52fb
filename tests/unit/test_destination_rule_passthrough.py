"""destination-rule-passthrough: no cluster is turned into 'the IP the application dialled'."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.destination_rule_objects import DR_POLICY, destination_rule, on_port, subset
from tests.unit.istio_objects import GATEWAY, decide, findings
from webhook.policy.rules.destination_rule_passthrough import RULE

PASSTHROUGH = {"loadBalancer": {"simple": "PASSTHROUGH"}}


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        # Door: curl --resolve api.github.com:443:<any IP> is routed as api.github.com and
        # connects to <any IP>.
        pytest.param(
            destination_rule("api.github.com", trafficPolicy=PASSTHROUGH),
            "spec.trafficPolicy.loadBalancer.simple",
            id="allowlisted-host",
        ),
        # Door: the egress gateway's cluster becomes ORIGINAL_DST, so the mesh route "to the
        # gateway" connects wherever the application dialled.
        pytest.param(
            destination_rule(GATEWAY, trafficPolicy=on_port(443, PASSTHROUGH)),
            "spec.trafficPolicy.portLevelSettings[0].loadBalancer.simple",
            id="egress-gateway-port-level",
        ),
        pytest.param(
            destination_rule("*", subsets=[subset("s", PASSTHROUGH)]),
            "spec.subsets[0].trafficPolicy.loadBalancer.simple",
            id="bare-wildcard-subset",
        ),
        pytest.param(
            destination_rule(
                "reviews", subsets=[subset("v1", on_port(9080, PASSTHROUGH), version="v1")]
            ),
            "spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.simple",
            id="in-cluster-subset-port-level",
        ),
        pytest.param(
            destination_rule("API.GITHUB.COM", trafficPolicy=PASSTHROUGH),
            "spec.trafficPolicy.loadBalancer.simple",
            id="case",
        ),
        pytest.param(
            destination_rule(
                "reviews", trafficPolicy={"loadBalancer": {"simple": "LEAST_REQUEST"}}
            ),
            None,
            id="least-request",
        ),
        pytest.param(
            destination_rule(
                "api.github.com", trafficPolicy={"loadBalancer": {"simple": "RANDOM"}}
            ),
            None,
            id="random",
        ),
        pytest.param(
            destination_rule(
                "reviews", trafficPolicy={"loadBalancer": {"consistentHash": {"useSourceIp": True}}}
            ),
            None,
            id="consistent-hash",
        ),
    ],
)
def test_passthrough(obj: dict[str, Any], field: str | None) -> None:
    fields = [v.field for v in findings(RULE, obj, DR_POLICY)]
    assert fields == ([] if field is None else [field])


def test_numeric_enum_is_not_read_as_something_else() -> None:
    """The CRD's enum is a string; 3 (PASSTHROUGH in the proto) is refused, not ignored."""
    obj = destination_rule("api.github.com", trafficPolicy={"loadBalancer": {"simple": 3}})
    decision = decide(obj, DR_POLICY)
    assert not decision.allowed
    assert decision.rules_hit == ("schema",)
