"""The audit loop: every registry object in a view, judged with the whole view in sight."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webhook.cluster.kinds import WatchedKind
from webhook.cluster.view import ClusterView
from webhook.policy.decision import Decision
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.view import Object, meta


@dataclass(frozen=True, slots=True)
class Audited:
    """One object of the cluster and the engine's decision on it."""

    kind: WatchedKind
    obj: Object
    decision: Decision

    @property
    def uid(self) -> str:
        return str((self.obj.get("metadata") or {}).get("uid") or "")


def audited_objects(
    view: ClusterView, namespace: str | None = None
) -> list[tuple[WatchedKind, Object]]:
    """A snapshot of the registry objects held (in `namespace`, or all), in kind order."""
    registry_kinds = [k for k in view.kinds if k.kind in KINDS.names]
    return [
        (kind, obj)
        for kind in registry_kinds
        for obj in view.index.all(kind.key)
        if namespace is None or meta(obj)[0] == namespace
    ]


def audit(
    view: ClusterView, policy: CompiledPolicy, namespace: str | None = None
) -> Iterator[Audited]:
    """Evaluate each object of the snapshot with the view, one at a time.

    A generator, so the server can hand the event loop back between objects (admission
    reviews keep flowing during a long audit) and the CLI can report progress.
    """
    for kind, obj in audited_objects(view, namespace):
        ns, _ = meta(obj)
        yield Audited(kind, obj, evaluate(obj, policy, namespace=ns, view=view))
