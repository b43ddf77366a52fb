"""The continuous audit's metrics, on the server's registry.

Cardinality is bounded: `rule` takes the registry's rule names; `namespace` takes the
TOP_NAMESPACES namespaces with the most violations, and every other namespace is summed
under OTHER, so a cluster of ten thousand namespaces still exports at most
(TOP_NAMESPACES + 1) x rules series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TOP_NAMESPACES = 20
OTHER = "_other"
_AUDIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def top_namespaces(
    counts: Mapping[tuple[str, str], int], top: int = TOP_NAMESPACES
) -> dict[tuple[str, str], int]:
    """(namespace, rule) counts with every namespace past the `top` busiest folded into OTHER."""
    per_namespace: dict[str, int] = defaultdict(int)
    for (namespace, _), n in counts.items():
        per_namespace[namespace] += n
    kept = set(sorted(per_namespace, key=lambda ns: (-per_namespace[ns], ns))[:top])
    folded: dict[tuple[str, str], int] = defaultdict(int)
    for (namespace, rule), n in counts.items():
        folded[(namespace if namespace in kept else OTHER, rule)] += n
    return dict(folded)


class ReportMetrics:
    """Audit duration, what it found, who writes, and how the writes went."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "egress_webhook_audit_duration_seconds",
            "Time one continuous audit of the cluster view took (evaluation only).",
            buckets=_AUDIT_BUCKETS,
            registry=registry,
        )
        self.objects = Gauge(
            "egress_webhook_audit_objects",
            "Objects judged by the last continuous audit.",
            registry=registry,
        )
        self.violations = Gauge(
            "egress_webhook_audit_violations",
            f"Violations found by the last audit, by rule and namespace (the {TOP_NAMESPACES} "
            f"namespaces with the most; the rest summed as namespace={OTHER!r}).",
            ["namespace", "rule"],
            registry=registry,
        )
        self.last_audit = Gauge(
            "egress_webhook_audit_last_timestamp_seconds",
            "When the last continuous audit finished (Unix time).",
            registry=registry,
        )
        self.leader = Gauge(
            "egress_webhook_reports_leader",
            "1 on the replica holding the Lease: it audits and writes the PolicyReports.",
            registry=registry,
        )
        self.writes = Counter(
            "egress_webhook_policy_report_writes_total",
            "PolicyReports written, by result (created, updated, unchanged, deleted, failed).",
            ["result"],
            registry=registry,
        )
        for result in ("created", "updated", "unchanged", "deleted", "failed"):
            self.writes.labels(result=result)

    def observe_audit(
        self, seconds: float, objects: int, counts: Mapping[tuple[str, str], int], at: float
    ) -> None:
        self.duration.observe(seconds)
        self.objects.set(objects)
        self.violations.clear()
        for (namespace, rule), n in top_namespaces(counts).items():
            self.violations.labels(namespace=namespace, rule=rule).set(n)
        self.last_audit.set(at)
