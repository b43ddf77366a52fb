"""ClusterView: indexed lookups agree with the scanning in-memory view; staleness."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tests.unit.istio_objects import tls_service_entry, virtual_service
from webhook.cluster import watch
from webhook.cluster.client import ApiException
from webhook.cluster.kinds import WatchedKind, watched_kinds
from webhook.cluster.view import ClusterView
from webhook.policy.view import StaticMeshView, meta

HOSTS = ["api.github.com", "*.github.com", "*.com", "x.api.github.com", "*.api.github.com"]
QUERIES = [*HOSTS, "github.com", "*.googleapis.com", "other.org", "*.x.api.github.com"]


def _objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, host in enumerate(HOSTS):
        out.append(tls_service_entry(host, namespace=f"n{i}"))
        out.append(virtual_service(f"n{i}", f"vs{i}", hosts=[host], exportTo=["."]))
        out.append(virtual_service(f"n{i}", f"open{i}", hosts=[host]))
    return out


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _synced(objects: list[dict[str, Any]], clock: Clock | None = None) -> ClusterView:
    view = ClusterView(watched_kinds(), stale_after=30, clock=clock or Clock())
    for kind in view.state:
        view.listed(kind, [o for o in objects if o["kind"] == kind])
    return view


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("namespace", ["n0", "n3", "elsewhere"])
def test_indexed_lookups_match_a_scan(query: str, namespace: str) -> None:
    objects = _objects()
    view, scan = _synced(objects), StaticMeshView(sorted(objects, key=meta))
    assert view.virtual_services(namespace, query) == scan.virtual_services(namespace, query)
    assert view.service_entries(query) == scan.service_entries(query)


def test_events_update_the_index() -> None:
    view = _synced([])
    vs = virtual_service("a", "v", hosts=["api.github.com"])
    view.event("VirtualService", "ADDED", vs)
    assert view.virtual_services("b", "api.github.com") == [vs]
    moved = virtual_service("a", "v", hosts=["other.org"])
    view.event("VirtualService", "MODIFIED", moved)
    assert view.virtual_services("b", "api.github.com") == []
    view.event("VirtualService", "DELETED", moved)
    assert view.virtual_services("b", "other.org") == []
    assert view.index.count("VirtualService") == 0


def test_stale_until_synced_and_after_a_long_disconnection() -> None:
    clock = Clock()
    view = ClusterView(watched_kinds(), stale_after=30, clock=clock)
    assert "has not completed" in view.stale_reason
    view = _synced([], clock)
    assert not view.stale
    view.disconnected("VirtualService", "connection refused")
    clock.now += 29
    assert not view.stale  # a blip: the cache still serves
    clock.now += 2
    assert "VirtualService has been disconnected for 31s" in view.stale_reason
    view.listed("VirtualService", [])
    assert not view.stale
    status = view.status()
    assert status["kinds"]["VirtualService"]["restarts"] == 1


def test_a_missing_kind_is_reported_not_waited_for() -> None:
    view = ClusterView(watched_kinds(), clock=Clock())
    for watched in watched_kinds():
        if watched.key != "Gateway":
            view.listed(watched.key, [])
    view.kind_missing("Gateway", "gateways.networking.istio.io/v1 is not served")
    assert view.synced
    assert not view.stale
    assert view.status()["kinds"]["Gateway"]["missing"]


def test_traffic_extension_is_watched_and_a_cluster_without_its_crd_still_syncs() -> None:
    """Istio 1.28's CRDs (the e2e suite's pin) have no TrafficExtension: a 404, not a wait."""
    [watched] = [w for w in watched_kinds() if w.kind == "TrafficExtension"]
    assert (watched.api_version, watched.resource) == (
        "extensions.istio.io/v1alpha1",
        "trafficextensions",
    )
    view = ClusterView(watched_kinds(), clock=Clock())
    for other in watched_kinds():
        if other.key != "TrafficExtension":
            view.listed(other.key, [])
    assert not view.synced
    view.kind_missing("TrafficExtension", "not served")
    assert view.synced
    assert not view.stale


async def test_the_watch_marks_an_unserved_kind_missing_and_looks_again_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def not_served(api: object, kind: WatchedKind) -> tuple[list[Any], str]:
        raise ApiException(status=404, reason="Not Found")

    monkeypatch.setattr(watch, "list_kind", not_served)
    [kind] = [w for w in watched_kinds() if w.kind == "TrafficExtension"]
    view = ClusterView(watched_kinds(), clock=Clock())
    synced = asyncio.Event()
    task = asyncio.create_task(watch.follow(None, kind, view, lambda _: synced.set()))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(synced.wait(), timeout=5)
        state = view.status()["kinds"]["TrafficExtension"]
        assert state["missing"] == "trafficextensions.extensions.istio.io/v1alpha1 is not served"
        assert not task.done()  # asleep until MISSING_RETRY, then it lists again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _http_route(namespace: str, name: str, *parents: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"parentRefs": list(parents), "rules": []},
    }


def test_routes_are_indexed_by_the_service_entry_they_attach_to() -> None:
    se = {"group": "networking.istio.io", "kind": "ServiceEntry"}
    own = _http_route("a", "own", {**se, "name": "cnn"})
    consumer = _http_route("b", "consumer", {**se, "name": "cnn", "namespace": "a"})
    gateway = _http_route("a", "gateway", {"name": "cnn"})  # a Gateway parent
    objects = [own, consumer, gateway]
    view, scan = _synced(objects), StaticMeshView(objects)
    for parent in [("a", "cnn"), ("b", "cnn"), ("a", "other")]:
        assert view.service_entry_routes("HTTPRoute", *parent) == list(
            scan.service_entry_routes("HTTPRoute", *parent)
        )
    assert view.service_entry_routes("HTTPRoute", "a", "cnn") == [own, consumer]
    assert view.service_entry_routes("TLSRoute", "a", "cnn") == []
    detached = _http_route("b", "consumer", {**se, "name": "cnn"})  # now b/cnn
    view.event("HTTPRoute", "MODIFIED", detached)
    assert view.service_entry_routes("HTTPRoute", "a", "cnn") == [own]
    assert view.service_entry_routes("HTTPRoute", "b", "cnn") == [detached]
    view.event("HTTPRoute", "DELETED", detached)
    assert view.service_entry_routes("HTTPRoute", "b", "cnn") == []


def test_sidecars_by_namespace_and_every_entry_match_a_scan() -> None:
    def sidecar(namespace: str, name: str) -> dict[str, Any]:
        return {"kind": "Sidecar", "metadata": {"namespace": namespace, "name": name}, "spec": {}}

    objects = [*_objects(), sidecar("n1", "b"), sidecar("n1", "a"), sidecar("n2", "default")]
    view, scan = _synced(objects), StaticMeshView(objects)
    for namespace in ("n1", "n2", "elsewhere", None):
        assert view.sidecars(namespace) == scan.sidecars(namespace)
    assert [meta(s) for s in view.sidecars("n1")] == [("n1", "a"), ("n1", "b")]
    assert len(view.sidecars(None)) == 3
    # "*" is every ServiceEntry (a Sidecar importing */* may take any of them)
    assert view.service_entries("*") == sorted(scan.service_entries("*"), key=meta)
    assert len(view.service_entries("*")) == len(HOSTS)


def test_sidecars_are_indexed_by_the_namespaces_they_import_from() -> None:
    def sidecar(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
        return {"kind": "Sidecar", "metadata": {"namespace": namespace, "name": name}, "spec": spec}

    def hosts(*entries: str) -> list[dict[str, Any]]:
        return [{"hosts": list(entries)}]

    own = sidecar("n1", "own", egress=hosts("./*", "istio-system/*"))
    picky = sidecar("n2", "picky", egress=hosts("n1/api.github.com", "~n3/*"))
    everything = sidecar("n3", "default")  # no egress listener: */*
    excluded = sidecar("n4", "default", egress=hosts("~n1/*", "bad", "n5/*"))
    objects = [own, picky, everything, excluded]
    view, scan = _synced(objects), StaticMeshView(objects)
    expected = {"n1": ["n1", "n2", "n3"], "n3": ["n3"], "n5": ["n3", "n4"], "other": ["n3"]}
    for namespace, found in expected.items():
        assert view.sidecar_namespaces(namespace) == scan.sidecar_namespaces(namespace) == found
    # maintained on update and delete
    view.event("Sidecar", "MODIFIED", sidecar("n3", "default", egress=hosts("./*")))
    assert view.sidecar_namespaces("n1") == ["n1", "n2"]
    view.event("Sidecar", "DELETED", picky)
    assert view.sidecar_namespaces("n1") == ["n1"]
    assert view.sidecars("n2") == []
    assert [meta(s) for s in view.sidecars(None)] == [("n1", "own"), ("n3", "default"),
                                                      ("n4", "default")]  # fmt: skip
