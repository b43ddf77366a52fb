"""Gateway routing: only approved egress gateways forward to external hosts, and only to those.

Gateway references resolve as Istio resolves them (``ns/name``, ``./name``, a bare
``name`` in the VirtualService's namespace, the legacy ``name.ns.svc.cluster.local``).
With a cluster view, a Gateway whose selector picks the egress gateway pods
(egressGateway.selector) is an egress gateway too, listed or not. A route at another
gateway (an ingress gateway, a tenant's own Gateway) that forwards
outside the cluster leaves around the egress gateway; a route at the egress gateway
that forwards back inside is not egress and is refused, also at a Gateway that is not an
approved egress gateway but whose selector picks the egress pods by the labels Istio installs
there (egress_pods.may_pick_egress_pods): gateway.go buildGatewayRoutes serves its routes on
those pods, appended to other namespaces' routes for the same host and port. A delegate
(a VirtualService without hosts) applies wherever its parent is bound, which is not in
view: it may not forward outside the cluster at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.routes import DELEGATING_GATEWAYS
from webhook.policy.subject import VirtualServiceSubject
from webhook.resources.virtual_service import MESH_GATEWAY

RULE = "gateway-routing"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """An external destination at another gateway, or an in-cluster one at the egress gateway."""
    approved = ", ".join(sorted(subject.policy.egress_gateway_ref_names))
    if subject.view is not None:
        selector = subject.policy.policy.egress_gateway.selector
        labels = ",".join(f"{k}={v}" for k, v in selector.items())
        approved += f", or a Gateway whose selector picks the egress gateway pods ({labels})"
    # The legs of a VirtualService share a few gateway sets: each is sorted and its
    # references classified once.
    refs_of: dict[frozenset[str], list[tuple[str, bool, bool]]] = {}
    for leg in subject.legs:
        refs = refs_of.get(leg.gateways)
        if refs is None:
            refs = refs_of[leg.gateways] = [
                (ref, subject.is_egress_gateway(ref), subject.may_serve_at_egress_pods(ref))
                for ref in sorted(leg.gateways - {MESH_GATEWAY})
            ]
        for ref, is_egress, at_egress_pods in refs:
            for target in leg.targets:
                external = target.external
                if not is_egress and at_egress_pods and not external:
                    yield Violation(
                        RULE,
                        target.field,
                        f'routes traffic at gateway "{ref}", whose selector picks the egress '
                        f'gateway pods, to in-cluster host "{target.raw_host}"; routes there '
                        "forward only to allowlisted external hosts",
                    )
                elif is_egress and not external:
                    yield Violation(
                        RULE,
                        target.field,
                        f'routes traffic at egress gateway "{ref}" to in-cluster host '
                        f'"{target.raw_host}"; egress gateway routes forward only to '
                        "allowlisted external hosts",
                    )
                elif ref == DELEGATING_GATEWAYS and external:
                    yield Violation(
                        RULE,
                        target.field,
                        f'forwards to external host "{target.raw_host}" from a delegate '
                        "VirtualService (no hosts), which applies at whatever gateway its "
                        "parent is bound to; route external hosts in the parent instead",
                    )
                elif not is_egress and external:
                    yield Violation(
                        RULE,
                        target.field,
                        f'forwards to external host "{target.raw_host}" at gateway "{ref}", '
                        f"which is not an approved egress gateway (approved: {approved})",
                    )
            if not is_egress:
                continue
            for rewrite in leg.authority_rewrites:
                problem = external_host_problem(subject, rewrite.value, rewrite.value.lower())
                if problem is not None:
                    yield Violation(
                        RULE, rewrite.field, f"authority rewrite at the egress gateway: {problem}"
                    )
            if leg.delegate_field is not None:
                yield Violation(
                    RULE,
                    leg.delegate_field,
                    f'delegates routing at egress gateway "{ref}" to a VirtualService the '
                    "webhook cannot see; write the routes here",
                )
