"""The continuous audit in the server: on change (debounced) and every report_interval, the
Lease holder judges every object in the cluster view and writes the PolicyReports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict

from aiohttp import web

from webhook.cluster.client import ApiException, api_client
from webhook.cluster.view import ClusterView
from webhook.reports.audit import Audited, audit
from webhook.reports.lease import LeaseConfig, LeaseElector
from webhook.reports.policy_report import policy_reports, violations_by_rule
from webhook.reports.writer import ReportWriter
from webhook.server.report_metrics import ReportMetrics
from webhook.server.state import CLUSTER_VIEW, METRICS, POLICY, SETTINGS
from webhook.settings import Settings

log = logging.getLogger("webhook.reports")

#: Objects judged between two returns to the event loop: reviews wait at most this long.
_BATCH = 200
#: First wait before a failed round is tried again.
_RETRY_FIRST = 1.0


def install(app: web.Application, settings: Settings) -> None:
    """Audit and write PolicyReports when the server has a view and reports are on."""
    if settings.cluster_view and settings.reports:
        app.cleanup_ctx.append(_reports)


def identity() -> str:
    """This replica's name in the Lease: the pod name (downward API) or host, made unique."""
    name = os.environ.get("POD_NAME") or socket.gethostname()
    return f"{name}_{uuid.uuid4().hex[:8]}"


def lease_config(settings: Settings) -> LeaseConfig:
    duration = settings.lease_duration
    return LeaseConfig(
        name=settings.lease_name,
        namespace=settings.lease_namespace,
        identity=identity(),
        lease_duration=duration,
        renew_deadline=duration * 2 / 3,
        retry_period=duration / 7.5,
    )


async def settle(changed: asyncio.Event, quiet: float, limit: float) -> None:
    """Return once `changed` has stayed unset for `quiet` seconds, or after `limit` seconds."""
    deadline = time.monotonic() + limit
    while (remaining := deadline - time.monotonic()) > 0:
        changed.clear()
        try:
            await asyncio.wait_for(changed.wait(), min(quiet, remaining))
        except TimeoutError:
            return


async def audit_view(view: ClusterView, app: web.Application) -> list[Audited]:
    """The shared audit, handing the loop back every _BATCH objects."""
    audited: list[Audited] = []
    for item in audit(view, app[POLICY].compiled):
        audited.append(item)
        if len(audited) % _BATCH == 0:
            await asyncio.sleep(0)
    return audited


async def _round(app: web.Application, writer: ReportWriter, metrics: ReportMetrics) -> bool:
    """One audit and its writes; False when some write failed (the round is retried)."""
    view, settings = app[CLUSTER_VIEW], app[SETTINGS]
    started = time.perf_counter()
    audited = await audit_view(view, app)
    seconds = time.perf_counter() - started
    metrics.observe_audit(seconds, len(audited), violations_by_rule(audited), time.time())
    reports = policy_reports(audited, max_results=settings.report_max_results)
    counts = await writer.write(reports)
    for result, n in asdict(counts).items():
        metrics.writes.labels(result=result).inc(n)
    log.info(
        "audited %d objects in %.2fs; PolicyReports: %s",
        len(audited),
        seconds,
        ", ".join(f"{n} {result}" for result, n in asdict(counts).items()),
        extra={"fields": {"event": "audit", "objects": len(audited), "seconds": seconds,
                          "namespaces": len(reports), **asdict(counts)}},
    )  # fmt: skip
    return counts.failed == 0


async def _attempt(app: web.Application, writer: ReportWriter, metrics: ReportMetrics) -> bool:
    """One round; a failure is logged, never raised (the auditor must keep running)."""
    try:
        return await _round(app, writer, metrics)
    except ApiException as exc:
        # 404: the PolicyReport CRD is not installed; 429: a new CRD's cache is warming up
        fields = {"event": "reports_failed", "status": exc.status}
        log.warning("writing PolicyReports failed: HTTP %s %s", exc.status, exc.reason,
                    extra={"fields": fields})  # fmt: skip
    except Exception:
        log.exception("the continuous audit failed", extra={"fields": {"event": "audit_error"}})
    return False


async def _auditor(
    app: web.Application,
    elector: LeaseElector,
    writer: ReportWriter,
    changed: asyncio.Event,
    metrics: ReportMetrics,
) -> None:
    """Wait for a change, leadership or the resync interval; settle; audit if leading.

    A failed round is retried sooner than the resync, after a backoff that doubles up to it.
    """
    settings, view = app[SETTINGS], app[CLUSTER_VIEW]
    backoff = None
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), backoff or settings.report_interval)
        await settle(changed, settings.report_debounce, settings.report_interval)
        if not elector.leading or view.stale:
            continue  # a follower, or a view that cannot vouch for itself: nothing to write
        if await _attempt(app, writer, metrics):
            backoff = None
        else:
            backoff = min((backoff or _RETRY_FIRST / 2) * 2, settings.report_interval)


async def _reports(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the elector and the auditor; on shutdown the Lease is released."""
    settings = app[SETTINGS]
    api = await api_client(settings.kubeconfig, in_cluster=settings.in_cluster)
    metrics = ReportMetrics(app[METRICS].registry)
    changed = asyncio.Event()
    app[CLUSTER_VIEW].on_change(lambda kind: changed.set())

    def on_leading(leading: bool) -> None:
        metrics.leader.set(1 if leading else 0)
        if not leading:
            metrics.violations.clear()
        changed.set()  # a new leader audits (and writes) at once

    elector = LeaseElector(api, lease_config(settings), on_change=on_leading)
    tasks = [
        asyncio.create_task(elector.run(), name="lease"),
        asyncio.create_task(
            _auditor(app, elector, ReportWriter(api), changed, metrics), name="audit"
        ),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await elector.release()
    await api.close()
