"""The kinds the view lists and watches: the registry's, plus the Gateways they refer to."""

from __future__ import annotations

from dataclasses import dataclass

from webhook.policy.kinds import KINDS
from webhook.policy.registry import Registry
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS


@dataclass(frozen=True, slots=True)
class WatchedKind:
    """One kind the view holds, at the version it is read (the registry's preferred one)."""

    kind: str
    group: str
    version: str
    resource: str
    #: The view's name for it: the kind, or ``Kind.group`` for a second kind of that name
    #: (the Gateway API's Gateway after Istio's); empty means the kind.
    name: str = ""

    @property
    def key(self) -> str:
        """What the view indexes, counts and reports the kind under."""
        return self.name or self.kind

    @property
    def api_version(self) -> str:
        """``group/version``, or ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


#: Read, never admitted: a VirtualService's gateway reference resolves to one of these
#: (egressGateway.selector decides whether it is an egress gateway).
GATEWAY = WatchedKind("Gateway", ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS[0], "gateways")


def watched_kinds(registry: Registry = KINDS) -> tuple[WatchedKind, ...]:
    """Every registry kind (versions[0] preferred), then Gateway unless the registry has it."""
    kinds: list[WatchedKind] = []
    for k in registry:
        taken = any(w.kind == k.kind for w in kinds)
        name = f"{k.kind}.{k.group}" if taken else ""
        kinds.append(WatchedKind(k.kind, k.group, k.versions[0], k.resource, name))
    if not any((k.group, k.kind) == (GATEWAY.group, GATEWAY.kind) for k in kinds):
        kinds.append(GATEWAY)
    return tuple(kinds)
