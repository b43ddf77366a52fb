"""External destinations: every external host a route or mirror sends to is allowlisted.

A sidecar route that sends straight to an external host carries its authority rewrites
with it (on a DYNAMIC_DNS ServiceEntry the proxy even connects to the rewritten name), so
the rewritten Host/:authority must be allowlisted too. So must the rewrite of any route
that sends to the egress gateway Service, at any gateway and in a delegate (whose routes
apply wherever its parent is bound): the egress gateway picks its virtual host, and so
the external host, by the Host/:authority it receives (HTTPRewrite.authority and
Headers.request in virtual_service.proto; buildGatewayHTTPRouteConfig in
pilot/pkg/networking/core/gateway.go). The egress gateway's own rewrites are checked
by gateway-routing.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import describe_ports, entries, external_host_problem, port_allowed
from webhook.policy.decision import Violation
from webhook.policy.subject import VirtualServiceSubject

RULE = "external-destinations"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """A destination outside the allowlist for the namespace, or on a port it does not open."""
    seen: set[str] = set()
    # Hundreds of routes send to a few (host, port) pairs: a pair found allowed is not
    # looked up again.
    allowed: set[tuple[str, str, int | None]] = set()
    for leg in subject.legs:
        # Only a leg that sends outside carries its rewrites there (most legs have none).
        outward = bool(leg.authority_rewrites) and (
            leg.reaches_egress_gateway
            or (leg.at_sidecars and any(not t.mirror and t.external for t in leg.targets))
        )
        for rewrite in leg.authority_rewrites if outward else ():
            if rewrite.field in seen:
                continue
            seen.add(rewrite.field)
            problem = external_host_problem(subject, rewrite.value, rewrite.value.lower())
            if problem is not None:
                yield Violation(
                    RULE, rewrite.field, f"authority rewrite on a route sent outside: {problem}"
                )
        for target in leg.targets:
            if not target.external or target.field in seen:
                continue
            seen.add(target.field)
            key = (target.raw_host, target.host, target.port)
            if key in allowed:
                continue
            problem = external_host_problem(subject, target.raw_host, target.host)
            if problem is not None:
                yield Violation(RULE, target.field, f"destination {problem}")
                continue
            found = entries(subject, target.host)
            if target.port is not None and not port_allowed(
                found, target.port, None, any_protocol=True
            ):
                yield Violation(
                    RULE,
                    target.field.removesuffix(".host") + ".port.number",
                    f'port {target.port} is not allowed for host "{target.raw_host}" '
                    f"(allowed: {describe_ports(found)})",
                )
                continue
            allowed.add(key)
