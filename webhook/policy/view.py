"""The read-only view of the mesh the engine may consult, and an in-memory one for tests.

The engine never lists or watches anything: a front end hands `evaluate` an object that
answers these few questions (the server a watch-backed cache from `webhook.cluster`, the
audit a one-shot list of the cluster, unit tests `StaticMeshView`). Objects are returned
as the API server stores them (plain JSON mappings); the engine parses what it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from webhook.policy.hosts import hosts_overlap

#: A Kubernetes object as JSON.
Object = Mapping[str, Any]


class MeshView(Protocol):
    """Lookups on the live mesh configuration; each answer is a few dict probes."""

    @property
    def stale(self) -> bool:
        """True when the view cannot vouch for its content (not synced, or cut off too long)."""

    @property
    def stale_reason(self) -> str:
        """Why the view is stale, for a denial message (empty when it is not)."""

    def virtual_services(self, namespace: str, host: str) -> Sequence[Object]:
        """VirtualServices visible to `namespace` (exportTo) with a host overlapping `host`."""

    def service_entries(self, host: str) -> Sequence[Object]:
        """ServiceEntries (every namespace) with a host overlapping the lower-case `host`
        (``*``: every ServiceEntry)."""

    def gateway(self, namespace: str, name: str) -> Object | None:
        """The Istio Gateway object ``namespace/name``, or None when there is none."""

    def service_entry(self, namespace: str, name: str) -> Object | None:
        """The ServiceEntry ``namespace/name``, or None when there is none."""

    def service_entry_routes(self, kind: str, namespace: str, name: str) -> Sequence[Object]:
        """Gateway API routes of `kind` (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute), every
        namespace, with a parentRef naming the ServiceEntry ``namespace/name``."""

    def sidecars(self, namespace: str | None) -> Sequence[Object]:
        """The Sidecars of `namespace` (None: of every namespace), in (namespace, name) order."""

    def sidecar_namespaces(self, importing: str) -> Sequence[str]:
        """The namespaces, sorted, holding a Sidecar whose egress hosts name namespace
        `importing` or ``*`` (`imported_namespaces`): the only ones where a Sidecar may
        import a service of `importing`."""


def meta(obj: Object) -> tuple[str, str]:
    """(namespace, name) of an object."""
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def spec_hosts(obj: Object) -> list[str]:
    """The lower-case `spec.hosts` of a ServiceEntry or VirtualService (may be empty)."""
    spec = obj.get("spec")
    hosts = spec.get("hosts") if isinstance(spec, Mapping) else None
    return [h.lower() for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []


def export_to(obj: Object) -> list[str] | None:
    """`spec.exportTo` as written (None when unset)."""
    spec = obj.get("spec")
    value = spec.get("exportTo") if isinstance(spec, Mapping) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None


#: A parentRef's (group, kind) naming a ServiceEntry: a GAMMA mesh parent.
SERVICE_ENTRY_PARENT = ("networking.istio.io", "ServiceEntry")


def service_entry_parents(obj: Object) -> list[tuple[str, str]]:
    """(namespace, name) of each ServiceEntry a Gateway API route's `spec.parentRefs` names,
    the namespace defaulting to the route's (toInternalParentReference,
    pilot/pkg/config/kube/gateway/conversion.go)."""
    spec = obj.get("spec")
    refs = spec.get("parentRefs") if isinstance(spec, Mapping) else None
    own, _ = meta(obj)
    return [
        (str(ref.get("namespace") or own), str(ref.get("name") or ""))
        for ref in refs if isinstance(ref, Mapping)
        and (ref.get("group"), ref.get("kind")) == SERVICE_ENTRY_PARENT
    ] if isinstance(refs, list) else []  # fmt: skip


def visible_to(obj: Object, namespace: str) -> bool:
    """True when the VirtualService `obj` is exported to `namespace`.

    Istio's exportTo: unset or ``*`` is every namespace, ``.`` the object's own, ``~``
    none, anything else a namespace name (networking/v1 VirtualService.export_to). The
    mesh-wide defaultVirtualServiceExportTo is taken at its default, ``*``. A list that
    holds ``~`` beside names (Istio's validation refuses it, nothing else does) is indexed
    nowhere unless it also holds ``*``: initVirtualServices (pilot/pkg/model/
    push_context.go) tests for ``*`` first, then skips any set containing ``~``.
    """
    targets = export_to(obj)
    if not targets or "*" in targets:
        return True
    if "~" in targets:
        return False
    own, _ = meta(obj)
    return namespace in targets or ("." in targets and own == namespace)


@dataclass(frozen=True, slots=True)
class EgressImports:
    """One namespace's part of a Sidecar egress listener's `hosts` (a hostClassification)."""

    hosts: tuple[str, ...]
    excluded: tuple[str, ...]


def egress_imports(sidecar: Object) -> list[dict[str, EgressImports]]:
    """Each egress listener's `hosts` of a Sidecar by namespace (``*`` for ``*/``), as
    convertIstioListenerToWrapper (pilot/pkg/model/sidecar.go) reads them: ``.`` is the
    Sidecar's namespace, a ``~`` prefix excludes (``~/`` from every namespace), an entry
    without exactly one ``/`` is ignored; a Sidecar without egress listeners imports
    ``*/*`` (initSidecarScopeInternalIndexes)."""
    own, _ = meta(sidecar)
    spec = sidecar.get("spec")
    egress = spec.get("egress") if isinstance(spec, Mapping) else None
    listeners = [e for e in egress if isinstance(e, Mapping)] if isinstance(egress, list) else []
    out = []
    for listener in listeners or [{"hosts": ["*/*"]}]:
        hosts = listener.get("hosts")
        found: dict[str, tuple[list[str], list[str]]] = {}
        for entry in hosts if isinstance(hosts, list) else ():
            if not isinstance(entry, str) or entry.count("/") != 1:
                continue
            namespace, name = entry.split("/")
            excluded = namespace.startswith("~")
            namespace = namespace.removeprefix("~") or ("*" if excluded else "")
            namespace = own if namespace == "." else namespace
            found.setdefault(namespace, ([], []))[1 if excluded else 0].append(name)
        out.append({ns: EgressImports(tuple(h), tuple(x)) for ns, (h, x) in found.items()})
    return out


def imported_namespaces(sidecar: Object) -> set[str]:
    """The namespaces (``*``: any) some egress host of the Sidecar imports from: a service
    of any other namespace is imported by none of its listeners (selectServices)."""
    return {ns for listener in egress_imports(sidecar) for ns, i in listener.items() if i.hosts}


class StaticMeshView:
    """A MeshView over a fixed list of objects: scans, so for unit tests and small inputs
    (its Sidecars are grouped by namespace once, when it is made)."""

    def __init__(
        self, objects: Iterable[Object] = (), *, stale_reason: str = "", synced: bool = True
    ) -> None:
        self.objects = list(objects)
        self._sidecars: dict[str, list[Object]] = {}
        for sidecar in sorted(self._of_kind("Sidecar"), key=meta):
            self._sidecars.setdefault(meta(sidecar)[0], []).append(sidecar)
        self._stale_reason = stale_reason or ("" if synced else "the view has not synced")

    @property
    def stale(self) -> bool:
        return bool(self._stale_reason)

    @property
    def stale_reason(self) -> str:
        return self._stale_reason

    def _of_kind(self, kind: str) -> Iterable[Object]:
        return (o for o in self.objects if o.get("kind") == kind)

    def virtual_services(self, namespace: str, host: str) -> Sequence[Object]:
        return [
            o
            for o in self._of_kind("VirtualService")
            if visible_to(o, namespace) and any(hosts_overlap(h, host) for h in spec_hosts(o))
        ]

    def service_entries(self, host: str) -> Sequence[Object]:
        return [
            o
            for o in self._of_kind("ServiceEntry")
            if any(hosts_overlap(h, host) for h in spec_hosts(o))
        ]

    def gateway(self, namespace: str, name: str) -> Object | None:
        for o in self._of_kind("Gateway"):
            # Istio's Gateway, not the Gateway API's (same kind, another group).
            istio = str(o.get("apiVersion", "")).startswith("networking.istio.io/")
            if istio and meta(o) == (namespace, name):
                return o
        return None

    def service_entry(self, namespace: str, name: str) -> Object | None:
        found = (o for o in self._of_kind("ServiceEntry") if meta(o) == (namespace, name))
        return next(found, None)

    def service_entry_routes(self, kind: str, namespace: str, name: str) -> Sequence[Object]:
        return [o for o in self._of_kind(kind) if (namespace, name) in service_entry_parents(o)]

    def sidecars(self, namespace: str | None) -> Sequence[Object]:
        if namespace is not None:
            return list(self._sidecars.get(namespace, ()))
        return [s for namespace in sorted(self._sidecars) for s in self._sidecars[namespace]]

    def sidecar_namespaces(self, importing: str) -> Sequence[str]:
        return sorted(
            namespace
            for namespace, sidecars in self._sidecars.items()
            if any({importing, "*"} & imported_namespaces(s) for s in sidecars)
        )
