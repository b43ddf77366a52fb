"""Objects by kind, namespace and name, with their hosts, ServiceEntry parents and (for
Sidecars) imported namespaces indexed: every lookup is dict probes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from webhook.policy.hosts import parent_domains, wildcard_suffix
from webhook.policy.view import (
    Object,
    imported_namespaces,
    meta,
    service_entry_parents,
    spec_hosts,
)

Key = tuple[str, str]

Slot = TypeVar("Slot", bound=Hashable)

#: The kind whose egress hosts are indexed by the namespaces they import from.
SIDECAR = "Sidecar"


class HostIndex:
    """Which objects name which hosts, so "who overlaps host H" never scans.

    An exact host sits under `exact`; a ``*.d`` pattern under `wildcard[d]`; and every
    host also under each of its parent domains in `below`, so a wildcard query finds the
    names beneath it. A query costs one probe per label of H.
    """

    __slots__ = ("_below", "_exact", "_wildcard")

    def __init__(self) -> None:
        self._exact: dict[str, set[Key]] = defaultdict(set)
        self._wildcard: dict[str, set[Key]] = defaultdict(set)
        self._below: dict[str, set[Key]] = defaultdict(set)

    def _slots(self, host: str) -> list[tuple[dict[str, set[Key]], str]]:
        suffix = wildcard_suffix(host)
        name = host if suffix is None else suffix
        slots = [(self._below, domain) for domain in parent_domains(name)]
        slots.append((self._exact, host) if suffix is None else (self._wildcard, suffix))
        return slots

    def add(self, key: Key, hosts: Iterable[str]) -> None:
        for host in hosts:
            for table, slot in self._slots(host):
                table[slot].add(key)

    def discard(self, key: Key, hosts: Iterable[str]) -> None:
        for host in hosts:
            for table, slot in self._slots(host):
                found = table.get(slot)
                if found is not None:
                    found.discard(key)
                    if not found:
                        del table[slot]

    def overlapping(self, host: str) -> set[Key]:
        """Keys of objects with a host that some name matches along with `host`."""
        suffix = wildcard_suffix(host)
        name = host if suffix is None else suffix
        found = set(self._exact.get(host, ())) if suffix is None else set()
        if suffix is not None:
            found |= self._wildcard.get(suffix, set()) | self._below.get(suffix, set())
        for domain in parent_domains(name):
            found |= self._wildcard.get(domain, set())
        return found


def _add(table: dict[Slot, set[Key]], slot: Slot, key: Key) -> None:
    table.setdefault(slot, set()).add(key)


def _discard(table: dict[Slot, set[Key]], slot: Slot, key: Key) -> None:
    found = table.get(slot)
    if found is not None:
        found.discard(key)
        if not found:
            del table[slot]


class MeshIndex:
    """The objects of each kind, keyed by (namespace, name), hosts indexed per kind, Gateway
    API routes by the ServiceEntries their parentRefs name, and Sidecars by namespace and
    by the namespaces their egress hosts import from."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self._objects: dict[str, dict[Key, Object]] = {k: {} for k in kinds}
        self._hosts: dict[str, HostIndex] = {k: HostIndex() for k in self._objects}
        self._parents: dict[str, dict[Key, set[Key]]] = {k: {} for k in self._objects}
        #: Sidecar keys by their namespace, and by imported namespace (``*``: any) from
        #: `imported_namespaces`.
        self._sidecars: dict[str, set[Key]] = {}
        self._imports: dict[str, set[Key]] = {}

    def replace(self, kind: str, objects: Iterable[Object]) -> None:
        """Swap in a fresh list of `kind` (after a list or relist)."""
        self._objects[kind] = {}
        self._hosts[kind] = HostIndex()
        self._parents[kind] = {}
        if kind == SIDECAR:
            self._sidecars, self._imports = {}, {}
        for obj in objects:
            self.put(kind, obj)

    def put(self, kind: str, obj: Object) -> None:
        """Add or replace one object."""
        key = meta(obj)
        self.remove(kind, key)
        self._objects[kind][key] = obj
        self._hosts[kind].add(key, spec_hosts(obj))
        for parent in service_entry_parents(obj):
            _add(self._parents[kind], parent, key)
        if kind == SIDECAR:
            _add(self._sidecars, key[0], key)
            for namespace in imported_namespaces(obj):
                _add(self._imports, namespace, key)

    def remove(self, kind: str, key: Key) -> None:
        """Forget one object, if held."""
        old = self._objects[kind].pop(key, None)
        if old is not None:
            self._hosts[kind].discard(key, spec_hosts(old))
            parents = self._parents[kind]
            for parent in service_entry_parents(old):
                _discard(parents, parent, key)
            if kind == SIDECAR:
                _discard(self._sidecars, key[0], key)
                for namespace in imported_namespaces(old):
                    _discard(self._imports, namespace, key)

    def get(self, kind: str, key: Key) -> Object | None:
        return self._objects[kind].get(key)

    def count(self, kind: str) -> int:
        return len(self._objects[kind])

    def all(self, kind: str) -> Sequence[Object]:
        return list(self._objects[kind].values())

    def ordered(self, kind: str) -> list[Object]:
        """Every object of `kind`, in (namespace, name) order."""
        objects = self._objects[kind]
        return [objects[k] for k in sorted(objects)]

    def by_host(self, kind: str, host: str) -> list[Object]:
        """Objects of `kind` with a host overlapping `host`, in (namespace, name) order."""
        objects = self._objects[kind]
        return [objects[k] for k in sorted(self._hosts[kind].overlapping(host)) if k in objects]

    def sidecars(self, namespace: str) -> list[Object]:
        """The Sidecars of `namespace`, in name order."""
        objects = self._objects[SIDECAR]
        return [objects[k] for k in sorted(self._sidecars.get(namespace, ()))]

    def sidecar_namespaces(self, importing: str) -> list[str]:
        """The namespaces, sorted, of the Sidecars whose egress hosts name `importing` or
        ``*`` (`imported_namespaces`)."""
        keys = self._imports.get(importing, set()) | self._imports.get("*", set())
        return sorted({namespace for namespace, _ in keys})

    def by_parent(self, kind: str, parent: Key) -> list[Object]:
        """Objects of `kind` with a parentRef naming the ServiceEntry `parent`, in order."""
        objects = self._objects[kind]
        return [objects[k] for k in sorted(self._parents[kind].get(parent, ())) if k in objects]
