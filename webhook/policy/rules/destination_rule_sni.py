"""SNI: the name a DestinationRule's TLS presents must be one its namespace may use.

`ClientTLSSettings.sni` (istio/api destination_rule.proto; top level, per port, per
subset) is copied into Envoy's ``UpstreamTlsContext.sni`` for SIMPLE, MUTUAL and
ISTIO_MUTUAL (`buildUpstreamClusterTLSContext` / `constructUpstreamTLS` in
pilot/pkg/networking/core/cluster_tls.go); DISABLE, the default, builds no TLS and the
value is unused. The SNI decides what a shared front end serves: a CDN picks the site
from it (domain fronting: connect to an allowlisted host's addresses, ask for another
name), and the egress gateway picks the Gateway server, and so the external host, from
it (Istio's egress TLS origination task sets ``sni: edition.cnn.com`` on the egress
gateway's rule). So the SNI must be one exact name: in the cluster, or allowlisted for
the rule's namespace. The rule's own host does not change that verdict: a rule for
``*`` presents the same SNI to every destination. It does decide one more: a host whose
mesh traffic must use the egress gateway may be the SNI only of a rule whose host is in
the cluster (the egress gateway's) or wholly gateway-required; on a rule for a host
reached directly (``www.googleapis.com`` beside a required ``storage.googleapis.com``)
it fronts the required host from that host's addresses, around the gateway.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import sni_problem
from webhook.policy.decision import Violation
from webhook.policy.destination_rules import DestinationRuleSubject
from webhook.policy.hosts import shown

RULE = "destination-rule-sni"


def check(subject: DestinationRuleSubject) -> Iterator[Violation]:
    """An SNI that is not a name the namespace may use."""
    for site in subject.sites:
        tls = site.tls
        if tls is None or not tls.sni or not tls.originates_tls:
            continue
        problem = sni_problem(subject, tls.sni)
        if problem is None and _fronts_past_gateway(subject, tls.sni):
            problem = (
                f'"{tls.sni.lower()}" must use the egress gateway, and the rule\'s host '
                f"{shown(subject.spec.host)} has destinations that go straight out"
            )
        if problem is not None:
            yield Violation(
                RULE,
                f"{site.field}.tls.sni",
                f"sni {shown(tls.sni)} is the name the proxy asks the destination's TLS front "
                f"end for, and that name decides what it serves: {problem}; set sni to a host "
                f'allowlisted for namespace "{subject.namespace}" (usually the host itself) '
                "or remove it",
            )


def _fronts_past_gateway(subject: DestinationRuleSubject, sni: str) -> bool:
    """True when a rule presents a gateway-required host's name to destinations the
    sidecar reaches directly: its host is external and not wholly within
    egressGateway.requireFor (the egress gateway's own rule, and one for the required host
    itself, present it where the gateway is on the path)."""
    host = subject.resolve(subject.spec.host)
    return (
        bool(host)
        and subject.is_external(host)
        and not subject.policy.requires_gateway_throughout(host)
        and subject.policy.fronts_gateway_host(sni)
    )
