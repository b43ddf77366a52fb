"""PASSTHROUGH load balancing: a DestinationRule may not send to the address the app dialled.

`LoadBalancerSettings.simple: PASSTHROUGH` ("forward the connection to the original IP
address requested by the caller", istio/api destination_rule.proto) turns the host's
cluster into Envoy ORIGINAL_DST and wipes its endpoints: `applyLoadBalancer`
(pilot/pkg/networking/core/cluster_traffic_policy.go) at the top level and per port,
`buildSubsetCluster` (cluster_builder.go, ``isPassthrough``) per subset. The route
still matches the allowlisted name (Host header, SNI), but the bytes go to whatever IP
the application connected to: ``curl --resolve api.github.com:443:<any IP>`` reaches
any server, and a rule for the egress gateway's Service makes its cluster do the same.
Every other algorithm only picks among the host's own endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.destination_rules import DestinationRuleSubject
from webhook.policy.hosts import shown

RULE = "destination-rule-passthrough"


def check(subject: DestinationRuleSubject) -> Iterator[Violation]:
    """Any loadBalancer.simple PASSTHROUGH, wherever it sits."""
    for site in subject.sites:
        if site.load_balancer is not None and site.load_balancer.simple == "PASSTHROUGH":
            yield Violation(
                RULE,
                f"{site.field}.loadBalancer.simple",
                f"loadBalancer PASSTHROUGH on host {shown(subject.spec.host)} sends each "
                "connection to the IP address the application dialled (Envoy ORIGINAL_DST), "
                "not to the host's endpoints, so any server can be reached under an allowed "
                "name; use ROUND_ROBIN, LEAST_REQUEST, RANDOM or consistentHash",
            )
