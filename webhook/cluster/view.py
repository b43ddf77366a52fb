"""ClusterView: the watched objects in memory, how fresh they are, and the engine's lookups.

Staleness is decided here, once: the view is stale until every kind has been listed, and
again when a kind's watch has been cut off for longer than `stale_after` seconds. Up to
that, a reconnecting watch serves from the cache (a blip is not an outage); past it,
the checks that need the view fail closed with the reason (see gateway-coverage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from webhook.cluster.index import MeshIndex
from webhook.cluster.kinds import WatchedKind
from webhook.policy.view import Object, visible_to


@dataclass(slots=True)
class KindState:
    """How one kind's list+watch is doing."""

    synced: bool = False
    #: Set when the API server does not serve the kind (its CRD is not installed).
    missing: str = ""
    #: Monotonic time the watch was cut off (None while connected).
    disconnected_since: float | None = None
    last_error: str = ""
    #: Monotonic time of the last list, event or bookmark.
    last_event: float | None = None
    restarts: int = 0


class ClusterView:
    """The MeshView the server hands the engine, filled by `webhook.cluster.watch`."""

    def __init__(
        self,
        kinds: Iterable[WatchedKind],
        *,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kinds = tuple(kinds)
        self.stale_after = stale_after
        self._clock = clock
        self.index = MeshIndex(k.key for k in self.kinds)
        self.state = {k.key: KindState() for k in self.kinds}
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call `listener(kind)` whenever the objects held change (the continuous audit)."""
        self._listeners.append(listener)

    def _changed(self, kind: str) -> None:
        for listener in self._listeners:
            listener(kind)

    # -- written by the watches ---------------------------------------------------------

    def listed(self, kind: str, objects: Iterable[Object]) -> None:
        """A full list of `kind` arrived: it replaces what was held."""
        self.index.replace(kind, objects)
        state = self.state[kind]
        state.synced, state.missing, state.last_error = True, "", ""
        state.disconnected_since = None
        state.last_event = self._clock()
        self._changed(kind)

    def event(self, kind: str, event_type: str, obj: Object) -> None:
        """One watch event (ADDED, MODIFIED, DELETED, BOOKMARK)."""
        if event_type == "DELETED":
            metadata = obj.get("metadata") or {}
            self.index.remove(kind, (metadata.get("namespace", ""), metadata.get("name", "")))
        elif event_type in ("ADDED", "MODIFIED"):
            self.index.put(kind, obj)
        self.state[kind].last_event = self._clock()
        if event_type != "BOOKMARK":
            self._changed(kind)

    def disconnected(self, kind: str, error: str) -> None:
        """The watch or list of `kind` failed; the first failure starts the stale clock."""
        state = self.state[kind]
        state.last_error = error
        state.restarts += 1
        if state.disconnected_since is None:
            state.disconnected_since = self._clock()

    def kind_missing(self, kind: str, reason: str) -> None:
        """The API server does not serve `kind`: hold none, and do not wait for it."""
        self.index.replace(kind, ())
        state = self.state[kind]
        state.synced, state.missing, state.disconnected_since = True, reason, None
        self._changed(kind)

    # -- read by readiness and the engine -----------------------------------------------

    @property
    def synced(self) -> bool:
        """True once every kind has been listed (or found missing)."""
        return all(s.synced for s in self.state.values())

    @property
    def stale_reason(self) -> str:
        if not self.synced:
            waiting = [k for k, s in self.state.items() if not s.synced]
            return f"the first list of {', '.join(waiting)} has not completed"
        now = self._clock()
        for kind, state in self.state.items():
            since = state.disconnected_since
            if since is not None and now - since > self.stale_after:
                return (
                    f"the watch of {kind} has been disconnected for {now - since:.0f}s "
                    f"(over {self.stale_after:g}s): {state.last_error}"
                )
        return ""

    @property
    def stale(self) -> bool:
        return bool(self.stale_reason)

    def virtual_services(self, namespace: str, host: str) -> Sequence[Object]:
        return [
            vs for vs in self.index.by_host("VirtualService", host) if visible_to(vs, namespace)
        ]

    def service_entries(self, host: str) -> Sequence[Object]:
        if host == "*":
            return self.index.ordered("ServiceEntry")
        return self.index.by_host("ServiceEntry", host)

    def gateway(self, namespace: str, name: str) -> Object | None:
        return self.index.get("Gateway", (namespace, name))

    def service_entry(self, namespace: str, name: str) -> Object | None:
        return self.index.get("ServiceEntry", (namespace, name))

    def service_entry_routes(self, kind: str, namespace: str, name: str) -> Sequence[Object]:
        return self.index.by_parent(kind, (namespace, name)) if kind in self.state else []

    def sidecars(self, namespace: str | None) -> Sequence[Object]:
        if "Sidecar" not in self.state:
            return []
        if namespace is None:
            return self.index.ordered("Sidecar")
        return self.index.sidecars(namespace)

    def sidecar_namespaces(self, importing: str) -> Sequence[str]:
        return self.index.sidecar_namespaces(importing) if "Sidecar" in self.state else []

    def status(self) -> dict[str, Any]:
        """What /readyz shows: sync state, staleness, and per kind counts and event age."""
        now = self._clock()
        kinds: dict[str, Any] = {}
        for kind, state in self.state.items():
            kinds[kind] = {
                "synced": state.synced,
                "objects": self.index.count(kind),
                "lastEventAgeSeconds": None
                if state.last_event is None
                else round(now - state.last_event, 3),
                "connected": state.disconnected_since is None,
                "lastError": state.last_error or None,
                "restarts": state.restarts,
                **({"missing": state.missing} if state.missing else {}),
            }
        reason = self.stale_reason
        return {"synced": self.synced, "stale": bool(reason), "staleReason": reason or None,
                "kinds": kinds}  # fmt: skip
