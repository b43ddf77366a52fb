"""Prometheus metrics of one admission server, in a registry of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from webhook.policy.decision import Decision
from webhook.policy.kinds import KINDS

if TYPE_CHECKING:
    from webhook.server.workers import Worker

# `_created` series double every counter and histogram for a timestamp Prometheus
# does not use (it derives resets from the values); the switch is process-wide.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

#: Label values are bounded: anything else the API server sends is counted as "other".
_KINDS = frozenset(KINDS.names)
_OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})

#: Why the server closes a connection on its own (the `reason` label values).
CLOSE_REASONS = (
    "tls_handshake_timeout",
    "tls_handshake_failed",
    "header_timeout",
    "body_timeout",
    "idle_timeout",
    "evicted",
)
#: Distinct namespaces that get a label of their own on the violations counter; the
#: namespaces seen after them are counted as "other". Namespaces are tenant-created, so
#: without a bound one busy cluster could grow the series without limit (rules are
#: bounded by the code: one label value per module in webhook/policy/rules).
NAMESPACE_LABEL_LIMIT = 100
OTHER = "other"
#: Labelled children of the reviews counter kept for reuse (the label sets seen in
#: practice are a few dozen).
_CHILD_CACHE_LIMIT = 1024

#: Reviews take well under a millisecond to a few milliseconds; the API server's own
#: webhook timeout is at most 30 s.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class WebhookMetrics:
    """Every metric the server exports; one instance (and registry) per application."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, namespace_label_limit: int = NAMESPACE_LABEL_LIMIT) -> None:
        self.registry = CollectorRegistry()
        # process_* (CPU, memory, open fds, start time) and python_info, on this registry
        # only: the global one is not what /metrics serves.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._review_metrics(namespace_label_limit)
        self._reload_metrics()
        self._view_gauges()
        self._connection_metrics()

    def _review_metrics(self, namespace_label_limit: int) -> None:
        """Reviews answered, their latency, violations, the serving policy."""
        self.reviews = Counter(
            "egress_webhook_admission_reviews_total",
            "AdmissionReviews answered, by object kind, operation, decision (allowed, "
            "denied, warned: allowed with policy violations in warn mode) and dry_run "
            '("true" for server-side dry runs: kubectl diff, --dry-run=server).',
            ["kind", "operation", "decision", "dry_run"],
            registry=self.registry,
        )
        self.violations = Counter(
            "egress_webhook_policy_violations_total",
            "Policy violations found (several per object are possible), by rule and "
            f"namespace; after {namespace_label_limit} distinct namespaces, later ones "
            'are counted as namespace="other".',
            ["rule", "namespace"],
            registry=self.registry,
        )
        self._namespace_label_limit = namespace_label_limit
        self._labelled_namespaces: set[str] = set()
        # labelled children, looked up once per label set rather than once per review:
        # `labels()` validates and sorts its arguments and takes a lock every time
        self._review_counters: dict[tuple[str, str, str, bool], Any] = {}
        self._violation_counters: dict[tuple[str, str], Any] = {}
        self.policy_info = Gauge(
            "egress_webhook_policy_info",
            "1 for the policy serving now: sha256 of the policy file and its mode "
            "(enforce, warn). Replicas with different sha256 serve different policies.",
            ["sha256", "mode"],
            registry=self.registry,
        )
        self.review_seconds = Histogram(
            "egress_webhook_admission_review_duration_seconds",
            "Time from receiving a review request to sending its response.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected_requests = Counter(
            "egress_webhook_rejected_requests_total",
            "Requests to /validate answered without a decision, by HTTP status "
            "(400 malformed, 408 body too slow, 413 too large, 415 not JSON, 500 a bug).",
            ["code"],
            registry=self.registry,
        )

    def _reload_metrics(self) -> None:
        """Policy and certificate reloads, and the certificate's expiry."""
        self.policy_reloads = Counter(
            "egress_webhook_policy_reloads_total",
            "Attempts to load a changed policy file, by result (success, failure).",
            ["result"],
            registry=self.registry,
        )
        self.policy_healthy = Gauge(
            "egress_webhook_policy_reload_healthy",
            "1 when the policy file on disk is the one serving; 0 when the last reload "
            "failed and the last good policy is still serving.",
            registry=self.registry,
        )
        self.policy_loaded_at = Gauge(
            "egress_webhook_policy_loaded_timestamp_seconds",
            "When the serving policy was loaded (Unix time).",
            registry=self.registry,
        )
        self.certificate_reloads = Counter(
            "egress_webhook_certificate_reloads_total",
            "Attempts to load a changed serving certificate and key, by result.",
            ["result"],
            registry=self.registry,
        )
        self.reload_checks = Counter(
            "egress_webhook_reload_checks_total",
            "Completed passes of the loop that reloads the policy and the certificate when "
            "their files change (one every --reload-interval).",
            registry=self.registry,
        )
        self.certificate_expiry = Gauge(
            "egress_webhook_certificate_expiry_timestamp_seconds",
            "notAfter of the serving certificate in use (Unix time).",
            registry=self.registry,
        )
        for result in ("success", "failure"):
            self.policy_reloads.labels(result=result)
            self.certificate_reloads.labels(result=result)
        self.policy_healthy.set(1)

    def _connection_metrics(self) -> None:
        """Client connections: open, the cap, closed by the server and why, disconnects."""
        self.client_disconnects = Counter(
            "egress_webhook_client_disconnects_total",
            "Requests whose client went away (reset, closed) before it could be answered: "
            "a client event, not a server error.",
            registry=self.registry,
        )
        self.requests_in_flight = Gauge(
            "egress_webhook_requests_in_flight",
            "Requests being handled now (this scrape included); what SIGTERM waits for.",
            registry=self.registry,
        )
        self.open_connections = Gauge(
            "egress_webhook_open_connections",
            "Client connections open now, TLS handshakes included.",
            registry=self.registry,
        )
        self.connection_limit = Gauge(
            "egress_webhook_connection_limit",
            "Most client connections open at once (--max-connections, lowered to fit the "
            "open-file limit); beyond it the longest-waiting idle connection is closed.",
            registry=self.registry,
        )
        self.connections_closed = Counter(
            "egress_webhook_connections_closed_total",
            "Client connections the server closed on its own, by reason: a deadline "
            "(tls_handshake_timeout, header_timeout, body_timeout, idle_timeout), a failed "
            "TLS handshake, or evicted to make room at the connection limit.",
            ["reason"],
            registry=self.registry,
        )
        for reason in CLOSE_REASONS:
            self.connections_closed.labels(reason=reason)

    def observe_review(
        self,
        kind: str,
        operation: str,
        decision: str,
        seconds: float,
        *,
        dry_run: bool = False,
        verdict: Decision | None = None,
    ) -> None:
        """Count one answered review, its latency, and the violations of its verdict."""
        key = (kind, operation, decision, dry_run)
        counter = self._review_counters.get(key)
        if counter is None:
            counter = self.reviews.labels(
                kind=kind if kind in _KINDS else OTHER,
                operation=operation if operation in _OPERATIONS else OTHER,
                decision=decision,
                dry_run="true" if dry_run else "false",
            )
            # bounded: unknown kinds and operations are one "other" child, but the raw
            # strings are keys here, so stop caching rather than grow without limit
            if len(self._review_counters) < _CHILD_CACHE_LIMIT:
                self._review_counters[key] = counter
        counter.inc()
        self.review_seconds.observe(seconds)
        if verdict is not None and verdict.violations:
            namespace = self._namespace_label(verdict.namespace)
            for violation in verdict.violations:
                vkey = (violation.rule, namespace)
                child = self._violation_counters.get(vkey)
                if child is None:
                    child = self._violation_counters[vkey] = self.violations.labels(
                        rule=violation.rule, namespace=namespace
                    )
                child.inc()

    def _namespace_label(self, namespace: str) -> str:
        """The namespace itself while fewer than the limit have been labelled, else "other"."""
        if namespace in self._labelled_namespaces:
            return namespace
        if len(self._labelled_namespaces) < self._namespace_label_limit:
            self._labelled_namespaces.add(namespace)
            return namespace
        return OTHER

    def observe_policy(self, sha256: str, mode: str) -> None:
        """The policy now serving: its info series alone is 1 (at start and on each reload)."""
        self.policy_info.clear()
        self.policy_info.labels(sha256=sha256, mode=mode).set(1)

    def _view_gauges(self) -> None:
        """The cluster view's gauges (set on each scrape when the server has a view)."""
        self.view_synced = Gauge(
            "egress_webhook_cluster_view_synced",
            "1 once every kind of the cluster view has been listed (absent without a view).",
            registry=self.registry,
        )
        self.view_stale = Gauge(
            "egress_webhook_cluster_view_stale",
            "1 while the cluster view is stale: checks that need it fail closed.",
            registry=self.registry,
        )
        self.view_objects = Gauge(
            "egress_webhook_cluster_view_objects",
            "Objects held in the cluster view, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.view_event_age = Gauge(
            "egress_webhook_cluster_view_last_event_age_seconds",
            "Seconds since the last list, watch event or bookmark of a kind.",
            ["kind"],
            registry=self.registry,
        )
        self.view_restarts = Gauge(
            "egress_webhook_cluster_view_watch_failures",
            "Failed lists or watches of a kind since start (each followed by a relist).",
            ["kind"],
            registry=self.registry,
        )

    def observe_view(self, status: Mapping[str, Any]) -> None:
        """Copy the cluster view's state (ClusterView.status()) into the gauges."""
        self.view_synced.set(1 if status["synced"] else 0)
        self.view_stale.set(1 if status["stale"] else 0)
        for kind, state in status["kinds"].items():
            self.view_objects.labels(kind=kind).set(state["objects"])
            age = state["lastEventAgeSeconds"]
            self.view_event_age.labels(kind=kind).set(-1 if age is None else age)
            self.view_restarts.labels(kind=kind).set(state["restarts"])

    def render(self) -> bytes:
        """The text exposition format, for GET /metrics."""
        return generate_latest(self.registry)


#: A sibling worker that does not answer /metrics within this is left out of the scrape
#: (it is starting or draining).
_SIBLING_TIMEOUT = 2.0


async def gather_workers(worker: Worker, own: str) -> dict[str, str]:
    """The exposition text of every worker that answers, by worker index (this one's: `own`)."""

    async def fetch(index: int) -> tuple[str, str | None]:
        path = worker.socket_path(index)
        with contextlib.suppress(OSError, aiohttp.ClientError, TimeoutError):
            connector = aiohttp.UnixConnector(path=str(path))
            timeout = aiohttp.ClientTimeout(total=_SIBLING_TIMEOUT)
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
                session.get("http://worker/metrics") as response,
            ):
                if response.status == 200:
                    return str(index), await response.text()
        return str(index), None

    others = [i for i in range(worker.count) if i != worker.index]
    texts = {str(worker.index): own}
    for index, text in await asyncio.gather(*(fetch(i) for i in others)):
        if text is not None:
            texts[index] = text
    return texts


class _Merged:
    """A collector of the families of several workers, each sample labelled `worker`."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.families: dict[str, Metric] = {}
        for worker, text in sorted(texts.items(), key=lambda kv: int(kv[0])):
            for family in text_string_to_metric_families(text):
                merged = self.families.get(family.name)
                if merged is None:
                    merged = Metric(family.name, family.documentation, family.type, family.unit)
                    self.families[family.name] = merged
                merged.samples.extend(
                    sample._replace(labels={**sample.labels, "worker": worker})
                    for sample in family.samples
                )

    def collect(self) -> Iterator[Metric]:
        return iter(self.families.values())


def merge_workers(texts: Mapping[str, str]) -> bytes:
    """One exposition of every worker's series, each with its `worker` label."""
    return generate_latest(_Merged(texts))
