"""Mesh routing: sidecar traffic to a gateway-required external host goes to the egress gateway.

A leg applies to sidecars when its gateways include ``mesh`` (explicitly, by default,
or through a match without gateways). For such a leg carrying a host that
egressGateway.requireFor covers, every destination must be the egress gateway Service:
no weighted share elsewhere, no mirror, no authority or Host rewrite, no delegate the
webhook cannot see. Any sidecar leg that sends to such a host directly is refused too,
and so is a leg that goes straight out to a host the gateway is not required for while
rewriting the Host/:authority (HTTPRewrite.authority, Headers.request) to one it is
required for: the sidecar connects to the first host's addresses and asks for the
second, which any front end serving both (a CDN, Google's front ends for
``*.googleapis.com``) answers, around the gateway.

A leg for an external-looking name that overlaps no gateway-required allowlist entry,
routed only to in-cluster services, is inward routing (an ingress VirtualService also
bound to ``mesh``) and is left alone. Overlap, not containment: a sidecar applies a
VirtualService to every service one of its hosts *matches* both ways (host.Name.Matches,
pkg/config/host/name.go, used by selectVirtualServices in pilot/pkg/networking/core/
httproute.go and hostClassification.VSMatches in pilot/pkg/model/sidecar.go), and
computeWildcardHostVirtualServiceIndex binds ``api.github.com`` to a ``*.com``
VirtualService wherever no narrower one names it, in its namespace and, exported (the
default exportTo is every namespace), in others. Such a leg must go to the egress
gateway like one that names the host.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.subject import VirtualServiceSubject

RULE = "mesh-routing"


def check(subject: VirtualServiceSubject) -> Iterator[Violation]:
    """A sidecar route that reaches an external host around the egress gateway."""
    policy = subject.policy
    gateway = policy.egress_gateway_service
    # The legs of a large VirtualService share a few host lists: what the rule asks of one
    # (its external hosts, which of them must use the egress gateway, and how a message names
    # them) is asked once per list.
    guarded_of: dict[tuple[str, ...], tuple[str | None, bool]] = {}
    for leg in subject.legs:
        if not leg.at_sidecars:
            continue
        found = guarded_of.get(leg.hosts)
        if found is None:
            found = guarded_of[leg.hosts] = _guarded(subject, leg.hosts)
        names, captures = found
        if leg.inward and not captures:
            continue  # a name that is no way out, routed inward (ingress VS bound to mesh too)
        if names is None:
            direct = False
            for target in leg.targets:
                if target.external and policy.requires_gateway(target.host):
                    verb = "mirrors" if target.mirror else "sends"
                    yield Violation(
                        RULE,
                        target.field,
                        f'{verb} mesh traffic directly to external host "{target.raw_host}"; '
                        f'route it through the egress gateway "{gateway}"',
                    )
                elif target.external and not target.mirror and target.host != gateway:
                    direct = True
            for rewrite in leg.authority_rewrites if direct else ():
                if policy.fronts_gateway_host(rewrite.value):
                    yield Violation(
                        RULE,
                        rewrite.field,
                        f"rewrites the authority of mesh traffic sent straight out to "
                        f'"{rewrite.value}", a host whose mesh traffic must use the egress '
                        f'gateway "{gateway}": a front end serving both would reach it around '
                        "the gateway; remove the rewrite",
                    )
            continue
        for target in leg.targets:
            if target.mirror:
                yield Violation(
                    RULE,
                    target.field,
                    f'mirrors mesh traffic for {names} to "{target.raw_host}"; traffic to '
                    "external hosts goes only to the egress gateway, unmirrored",
                )
            elif target.host != gateway:
                yield Violation(
                    RULE,
                    target.field,
                    f'sends mesh traffic for {names} to "{target.raw_host}", around the '
                    f'egress gateway; route all of it to "{gateway}"',
                )
        for rewrite in leg.authority_rewrites:
            yield Violation(
                RULE,
                rewrite.field,
                f'rewrites the authority of mesh traffic for {names} to "{rewrite.value}"; '
                "remove it: the egress gateway must see the host the application asked for",
            )
        if leg.delegate_field is not None:
            yield Violation(
                RULE,
                leg.delegate_field,
                f"delegates mesh routing for {names} to a VirtualService the webhook cannot "
                f'see; route to "{gateway}" here instead',
            )


def _guarded(subject: VirtualServiceSubject, hosts: tuple[str, ...]) -> tuple[str | None, bool]:
    """(how messages name the leg's hosts that must use the egress gateway, or None when
    none must; does some external host capture a gateway-required allowlisted name?)."""
    policy = subject.policy
    external = [h for h in hosts if subject.is_external(h)]
    captured = {h: subject.captured_gateway_names(h) for h in external}
    guarded = [h for h in external if captured[h] or policy.requires_gateway(h)]
    names = ", ".join(_named(subject, h, captured[h]) for h in guarded) if guarded else None
    return names, any(captured.values())


def _named(subject: VirtualServiceSubject, host: str, captured: tuple[str, ...]) -> str:
    """``"h"``, or ``"*.com" (matching allowlisted "api.github.com")`` for a capture."""
    if not captured or subject.policy.entries_for(host):
        return f'"{host}"'
    matched = ", ".join(f'"{name}"' for name in captured)
    return f'"{host}" (matching allowlisted {matched})'
