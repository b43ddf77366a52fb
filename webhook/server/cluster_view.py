"""The cluster view's lifetime in the server: a cleanup context that lists and watches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from webhook.cluster.client import api_client
from webhook.cluster.kinds import watched_kinds
from webhook.cluster.view import ClusterView
from webhook.cluster.watch import follow
from webhook.server.state import CLUSTER_VIEW, SETTINGS
from webhook.settings import Settings

log = logging.getLogger("webhook.server")


def install(app: web.Application, settings: Settings) -> None:
    """Give `app` a cluster view when the settings ask for one (else it judges per object)."""
    if not settings.cluster_view:
        return
    app[CLUSTER_VIEW] = ClusterView(watched_kinds(), stale_after=settings.view_stale_after)
    app.cleanup_ctx.append(_cluster_view)


def mode(settings: Settings) -> str:
    """How the server judges objects, as the startup log and /readyz say it."""
    if settings.in_cluster:
        return "cluster view (in-cluster service account)"
    if settings.kubeconfig is not None:
        return f"cluster view (kubeconfig {settings.kubeconfig})"
    return "per object (no cluster view: coverage and Gateway selectors are not checked)"


async def _cluster_view(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: one list+watch task per kind; the server is unready until all list."""
    settings, view = app[SETTINGS], app[CLUSTER_VIEW]
    api = await api_client(settings.kubeconfig, in_cluster=settings.in_cluster)
    started = time.monotonic()
    reported = False

    def on_sync(kind: str) -> None:
        nonlocal reported
        if view.synced and not reported:
            reported = True
            counts = {k: view.index.count(k) for k in view.state}
            log.info(
                "cluster view synced in %.2fs: %s",
                time.monotonic() - started,
                ", ".join(f"{n} {k}" for k, n in counts.items()),
                extra={"fields": {"event": "view_synced", "objects": counts}},
            )

    tasks = [
        asyncio.create_task(follow(api, kind, view, on_sync), name=f"watch {kind.key}")
        for kind in view.kinds
    ]
    log.info(
        "cluster view: listing and watching %s",
        ", ".join(k.key for k in view.kinds),
        extra={"fields": {"event": "view_starting", "kinds": [k.key for k in view.kinds]}},
    )
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await api.close()
