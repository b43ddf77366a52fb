"""An approved egress Gateway (egressGateway.gateways) programs the egress pods and no others.

gateway-routing accepts routes to external hosts at the Gateways the policy lists, trusting
that they run on the egress gateway pods. Which pods a Gateway programs is its `selector`
(PushContext.mergeGateways: ``labels.Instance(selector).SubsetOf(proxy.Labels)`` over
gateway pods of every namespace; no selector, or an empty one, is every gateway pod). So
a listed Gateway needs a non-empty selector whose labels are all among
egressGateway.selector: with none it also programs ingress gateways, and with another
label it may program pods that are not the egress gateway, and routes accepted at it
would leave from there.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.gateway_subject import GatewaySubject

RULE = "gateway-selector"


def check(subject: GatewaySubject) -> Iterator[Violation]:
    """A listed egress Gateway whose selector is missing or reaches beyond the egress pods."""
    if not subject.is_listed_egress_gateway:
        return
    egress = subject.policy.policy.egress_gateway.selector
    wanted = ", ".join(f"{k}: {v}" for k, v in sorted(egress.items()))
    if subject.selects_every_gateway:
        yield Violation(
            RULE,
            "spec.selector",
            f'Gateway "{subject.ref}" is an approved egress gateway (egressGateway.gateways) '
            "but has no selector, so Istio applies it to every gateway pod and routes to "
            f"external hosts accepted at it leave from ingress gateways too; set selector "
            f"to {{{wanted}}}",
        )
    elif not subject.selects_egress_pods:
        labels = ", ".join(f"{k}: {v}" for k, v in sorted((subject.spec.selector or {}).items()))
        yield Violation(
            RULE,
            "spec.selector",
            f'Gateway "{subject.ref}" is an approved egress gateway (egressGateway.gateways) '
            f"but its selector {{{labels}}} is not among the egress gateway pods' labels "
            f"(egressGateway.selector {{{wanted}}}), so routes to external hosts accepted "
            f"at it would leave from other pods; set selector to {{{wanted}}} (or add the "
            "label to egressGateway.selector if the egress pods carry it)",
        )
