"""List+watch of each kind into a ClusterView: resume from resourceVersion, bookmarks,
relist on 410 Gone or after any failure, reconnect with capped exponential backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from kubernetes_asyncio import client, watch

from webhook.cluster.client import ApiException, list_function, list_kind
from webhook.cluster.kinds import WatchedKind
from webhook.cluster.view import ClusterView

log = logging.getLogger("webhook.cluster")

#: The API server ends each watch after this long; the next resumes where it stopped.
WATCH_SECONDS = 60
#: A watch that stays silent this long (no event, no bookmark, no end) is a dead connection.
READ_TIMEOUT = WATCH_SECONDS + 30
BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
#: A kind that is not served is looked for again this often (its CRD may be installed later).
MISSING_RETRY = 60.0

_NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


async def _watch(api: client.ApiClient, kind: WatchedKind, view: ClusterView, version: str) -> str:
    """Follow `kind` from `version` until the API server ends the watch; the last version."""
    function, args = list_function(api, kind)
    async with watch.Watch() as stream:
        async for event in stream.stream(
            function,
            *args,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=aiohttp.ClientTimeout(sock_connect=10, sock_read=READ_TIMEOUT),
        ):
            obj = event["raw_object"]
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
            view.event(kind.key, event["type"], obj)
            version = (obj.get("metadata") or {}).get("resourceVersion") or version
    return version


async def follow(
    api: client.ApiClient,
    kind: WatchedKind,
    view: ClusterView,
    on_sync: Callable[[str], None] = lambda kind: None,
) -> None:
    """Keep `kind` in `view` current until cancelled."""
    version = ""  # empty: (re)list first
    backoff = BACKOFF_FIRST
    while True:
        try:
            if not version:
                items, version = await list_kind(api, kind)
                view.listed(kind.key, items)
                on_sync(kind.key)
                backoff = BACKOFF_FIRST
            version = await _watch(api, kind, view, version)
        except ApiException as exc:
            version = ""
            if exc.status == 410:  # our resourceVersion is too old: start over from a list
                log.info("watch of %s expired (410 Gone); relisting", kind.key)
                continue
            if exc.status == 404:
                reason = f"{kind.resource}.{kind.group or 'core'}/{kind.version} is not served"
                if not view.state[kind.key].missing:
                    log.warning(
                        "%s: %s (CRD not installed?); ignored, looked for again every %.0fs",
                        kind.key,
                        reason,
                        MISSING_RETRY,
                        extra={"fields": {"event": "view_kind_missing", "kind": kind.key}},
                    )
                view.kind_missing(kind.key, reason)
                on_sync(kind.key)
                await asyncio.sleep(MISSING_RETRY)
                continue
            backoff = await _failed(view, kind, f"HTTP {exc.status} {exc.reason}", backoff)
        except _NETWORK_ERRORS as exc:
            version = ""  # events may have been missed: relist once reconnected
            backoff = await _failed(view, kind, f"{type(exc).__name__}: {exc}", backoff)


async def _failed(view: ClusterView, kind: WatchedKind, error: str, backoff: float) -> float:
    view.disconnected(kind.key, error)
    log.warning(
        "watch of %s failed (%s); retrying in %.1fs",
        kind.key,
        error,
        backoff,
        extra={"fields": {"event": "view_disconnected", "kind": kind.key, "error": error}},
    )
    await asyncio.sleep(backoff)
    return min(backoff * 2, BACKOFF_MAX)
