"""`python -m bench.view`: the cluster view's memory and admission latency at scale.

Fills a ClusterView in process (as its watches would, through `listed`) with N
ServiceEntries and N VirtualServices (default 10,000 each: one covered external host
per object pair, spread over 500 namespaces, exported to their own namespace as tenants
write them), then prints:

- view memory: tracemalloc bytes allocated while the objects were built and indexed (the
  view keeps the objects as the API server sent them, so that is its cost) and the RSS
  growth of the process;
- admission latency: `evaluate` with the view (coverage, Gateways by selector) next to
  the view-less figure for the same objects, median and p99 of timed calls;
- the Sidecar half of coverage, on a second view whose N entries and VirtualServices are
  all exported everywhere: a ServiceEntry's admission before and after one Sidecar per
  namespace (``./*`` and ``istio-system/*``, the usual tenant one) is added, and a Sidecar
  CREATE, whose pods may import every entry (``*/*``), their namespace's (``./*``), all
  but one namespace's or every ``*.googleapis.com`` one;
- the continuous audit: one pass over every object, as the Lease holder runs it.

Bounded in time: about a minute at the default size on one core (`--objects` scales it).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.workload import EXAMPLE_POLICY
from webhook.cluster.kinds import watched_kinds
from webhook.cluster.view import ClusterView
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy
from webhook.reports.audit import audit

GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"
NAMESPACES = 500


def _entry(i: int) -> dict[str, Any]:
    host = f"svc{i}.googleapis.com"
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": f"se{i}", "namespace": f"ns{i % NAMESPACES}", "uid": f"se-{i}",
                     "resourceVersion": str(i)},
        "spec": {"hosts": [host], "location": "MESH_EXTERNAL", "resolution": "DNS",
                 "exportTo": ["."], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]},
    }  # fmt: skip


def _route(i: int) -> dict[str, Any]:
    host, at = f"svc{i}.googleapis.com", "istio-system/istio-egressgateway"
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": f"vs{i}", "namespace": f"ns{i % NAMESPACES}", "uid": f"vs-{i}",
                     "resourceVersion": str(i)},
        "spec": {"hosts": [host], "gateways": ["mesh", at], "exportTo": ["."], "tls": [
            {"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [host]}],
             "route": [{"destination": {"host": GATEWAY, "port": {"number": 443}}}]},
            {"match": [{"gateways": [at], "port": 443, "sniHosts": [host]}],
             "route": [{"destination": {"host": host, "port": {"number": 443}}}]},
        ]},
    }  # fmt: skip


def _everywhere(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "spec": {**obj["spec"], "exportTo": ["*"]}}


def _sidecar(namespace: str, name: str, *hosts: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": name, "namespace": namespace, "uid": f"sc-{namespace}-{name}",
                     "resourceVersion": "1"},
        "spec": {"egress": [{"hosts": list(hosts)}]},
    }  # fmt: skip


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


def _filled(n: int) -> ClusterView:
    view = ClusterView(watched_kinds())
    by_kind = {"ServiceEntry": [_entry(i) for i in range(n)],
               "VirtualService": [_route(i) for i in range(n)]}  # fmt: skip
    for kind in view.state:
        view.listed(kind, by_kind.get(kind, []))
    return view


def fill(n: int) -> tuple[ClusterView, int]:
    """A synced view of n ServiceEntries and n VirtualServices, and the RSS it added (KiB)."""
    gc.collect()
    rss = _rss_kib()
    view = _filled(n)
    gc.collect()
    return view, _rss_kib() - rss


def traced_bytes(n: int) -> int:
    """Bytes a second, identical view holds, by tracemalloc (apart: tracing inflates RSS)."""
    gc.collect()
    tracemalloc.start()
    view = _filled(n)
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del view
    return traced


def timed(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """Median and p99 of `calls` calls, in microseconds."""
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def latency_rows(view: ClusterView, policy: CompiledPolicy, calls: int) -> list[str]:
    cases = [
        ("ServiceEntry, covered host", _entry(7), calls),
        ("VirtualService, egress route", _route(7), calls),
        # a wildcard overlaps every svcN.googleapis.com: the index hands back all n routes
        ("ServiceEntry *.googleapis.com", {**_entry(7), "spec": {**_entry(7)["spec"],
         "hosts": ["*.googleapis.com"], "resolution": "NONE"}}, max(calls // 40, 5)),
    ]  # fmt: skip
    rows = []
    for label, obj, n in cases:
        ns = obj["metadata"]["namespace"]
        alone = timed(lambda o=obj, ns=ns: evaluate(o, policy, namespace=ns), n)
        seen = timed(lambda o=obj, ns=ns: evaluate(o, policy, namespace=ns, view=view), n)
        allowed = evaluate(obj, policy, namespace=ns, view=view).allowed
        rows.append(
            f"{label:<32} {alone[0]:>9.1f} {alone[1]:>9.1f} {seen[0]:>9.1f} {seen[1]:>9.1f}"
            f" {seen[0] / alone[0]:>6.1f}x  {'allowed' if allowed else 'denied'} ({n} calls)"
        )
    return rows


def sidecar_rows(n: int, policy: CompiledPolicy, calls: int) -> list[str]:
    """The Sidecar half of coverage on a view where every entry and VirtualService is
    exported everywhere, so every namespace's pods may import every entry."""
    view = ClusterView(watched_kinds())
    by_kind = {"ServiceEntry": [_everywhere(_entry(i)) for i in range(n)],
               "VirtualService": [_everywhere(_route(i)) for i in range(n)]}  # fmt: skip
    for kind in view.state:
        view.listed(kind, by_kind.get(kind, []))
    entry = _everywhere(_entry(7))
    ns = entry["metadata"]["namespace"]

    def admit(obj: dict[str, Any], namespace: str) -> Callable[[], object]:
        return lambda: evaluate(obj, policy, namespace=namespace, view=view)

    bare = timed(admit(entry, ns), calls)
    sidecars = [_sidecar(f"ns{i}", "default", "./*", "istio-system/*") for i in range(NAMESPACES)]
    view.listed("Sidecar", sidecars)
    creates = max(calls // 400, 3)
    everything = _sidecar("ns3", "new", "*/*")
    own = _sidecar("ns3", "new", "./*", "istio-system/*")
    but = _sidecar("ns3", "new", "*/*", "~ns9/*")
    some = _sidecar("ns3", "new", "*/*.googleapis.com")
    cases = [
        ("ServiceEntry, covered host, no Sidecars", entry, bare, None),
        (f"ServiceEntry, covered host, {NAMESPACES} Sidecars", entry,
         timed(admit(entry, ns), calls), bare),
        (f"Sidecar CREATE, {n:,} entries exported everywhere (*/*)", everything,
         timed(admit(everything, "ns3"), creates), None),
        ("Sidecar CREATE, the same, ./* and istio-system/*", own,
         timed(admit(own, "ns3"), creates), None),
        # listeners that do not import */* whole: each candidate's namespace and hosts read
        ("Sidecar CREATE, the same, */* but ~ns9/*", but,
         timed(admit(but, "ns3"), creates), None),
        ("Sidecar CREATE, the same, */*.googleapis.com", some,
         timed(admit(some, "ns3"), creates), None),
    ]  # fmt: skip
    rows = []
    for label, obj, (p50, p99), reference in cases:
        ratio = f"{p50 / reference[0]:>6.1f}x" if reference else " " * 7
        verdict = "allowed" if admit(obj, obj["metadata"]["namespace"])().allowed else "denied"
        count = creates if obj["kind"] == "Sidecar" else calls
        rows.append(f"{label:<56} {p50:>11.1f} {p99:>11.1f} {ratio}  {verdict} ({count} calls)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.view", description=__doc__)
    parser.add_argument(
        "--objects", type=int, default=10_000, help="ServiceEntries (and as many VirtualServices)"
    )
    parser.add_argument("--calls", type=int, default=2000, help="timed evaluate() calls per case")
    args = parser.parse_args(argv)
    policy = load_policy(EXAMPLE_POLICY)
    started = time.perf_counter()
    view, rss = fill(args.objects)
    filled = time.perf_counter() - started
    traced = traced_bytes(args.objects)
    total = 2 * args.objects
    print(
        f"view: {args.objects} ServiceEntries + {args.objects} VirtualServices, "
        f"{NAMESPACES} namespaces, filled in {filled:.1f}s"
    )
    print(
        f"  memory (tracemalloc): {traced / 2**20:.1f} MiB, {traced / total / 1024:.1f} KiB/object"
    )
    print(f"  memory (RSS growth):  {rss / 1024:.1f} MiB")
    print("\nadmission latency, evaluate() in microseconds:")
    heads = ("alone p50", "alone p99", "view p50", "view p99")
    print(f"{'object':<32} " + " ".join(f"{h:>9}" for h in heads) + f" {'ratio':>7}")
    for row in latency_rows(view, policy, args.calls):
        print(row)
    print(
        f"\nexported everywhere ({args.objects} entries and VirtualServices), evaluate() in "
        "microseconds, ratio to no Sidecars:"
    )
    print(f"{'object':<56} {'p50':>11} {'p99':>11} {'ratio':>7}")
    for row in sidecar_rows(args.objects, policy, args.calls):
        print(row)
    started = time.perf_counter()
    audited = sum(1 for _ in audit(view, policy))
    seconds = time.perf_counter() - started
    print(f"\ncontinuous audit: {audited} objects in {seconds:.1f}s "
          f"({seconds / audited * 1e6:.0f} us/object)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
