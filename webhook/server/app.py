"""The admission server: create_app wires state, routes and reloads; serve runs it until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from webhook.errors import ClusterAccessError, ExitCode
from webhook.server import cluster_view, handlers, reports
from webhook.server.connections import ConnectionTable, raise_open_file_limit
from webhook.server.listener import GuardedSite
from webhook.server.logs import configure_logging, quiet_malformed_http
from webhook.server.metrics import WebhookMetrics
from webhook.server.middlewares import VALIDATE_ROUTE, admission_body, errors_and_logging
from webhook.server.state import (
    CERTIFICATE,
    CONNECTIONS,
    IN_FLIGHT,
    METRICS,
    POLICY,
    SETTINGS,
    WORKER,
    ActivePolicy,
    InFlight,
)
from webhook.server.tls import ServingCertificate
from webhook.server.workers import Worker
from webhook.settings import Settings

log = logging.getLogger("webhook.server")


#: Seconds a thread may hold the interpreter while another waits (see serve).
SWITCH_INTERVAL = 0.0001


def create_app(settings: Settings, worker: Worker | None = None) -> web.Application:
    """The application: policy and certificate loaded, routes, middlewares, reload loops.

    Raises PolicyInvalidError or CertificateError when either cannot be loaded: the
    server never starts without both.
    """
    metrics = WebhookMetrics()
    policy = ActivePolicy(settings.policy)
    certificate = ServingCertificate(settings.tls_cert, settings.tls_key)
    metrics.policy_loaded_at.set(policy.loaded_at.timestamp())
    metrics.observe_policy(policy.sha256, policy.compiled.mode)
    metrics.certificate_expiry.set(certificate.info.not_after.timestamp())

    # aiohttp's default cap is 1 MiB; the API server may send a ~3 MiB object and its
    # ~3 MiB oldObject. The admission_body middleware turns the excess into a clear 413.
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[errors_and_logging, admission_body],
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[POLICY] = policy
    app[CERTIFICATE] = certificate
    in_flight = InFlight()
    app[IN_FLIGHT] = in_flight
    metrics.requests_in_flight.set_function(lambda: in_flight.count)
    app[CONNECTIONS] = ConnectionTable(settings, metrics)
    if worker is not None:
        app[WORKER] = worker
    app.router.add_post("/validate", handlers.validate, name=VALIDATE_ROUTE)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/readyz", handlers.readyz)
    app.router.add_get("/metrics", handlers.metrics)
    app.cleanup_ctx.append(_reloads)
    cluster_view.install(app, settings)
    reports.install(app, settings)  # after the view: its context needs the view
    return app


async def start(app: web.Application, settings: Settings) -> web.AppRunner:
    """Listen with TLS on settings.host:settings.port; `drain` (or `runner.cleanup()`) stops it.

    The listener caps and times out connections (webhook.server.connections); the
    errors_and_logging middleware discards what is left of a refused body.
    """
    quiet_malformed_http()
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=settings.shutdown_timeout,
        # The middleware has already discarded what it will of a refused body, within its
        # own bounds; aiohttp's lingering (10 s by default, no byte limit) would hold up a
        # drain.
        lingering_time=0,
        # A backstop only: the connection's own deadlines (header, idle) come first.
        keepalive_timeout=settings.idle_timeout + settings.header_timeout,
        # A client that goes away does not cancel its review: it is decided (in
        # milliseconds) and the answer dropped; the body read fails on its own.
        handler_cancellation=False,
    )
    await runner.setup()
    worker = app.get(WORKER)
    site = GuardedSite(
        runner,
        settings.host,
        settings.port,
        ssl_context=app[CERTIFICATE].context,
        table=app[CONNECTIONS],
        reuse_port=worker is not None,
    )
    try:
        await site.start()
        if worker is not None:
            # its own metrics, for the sibling that answers GET /metrics
            path = worker.socket_path(worker.index)
            await web.UnixSite(runner, str(path)).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def serve(settings: Settings, worker: Worker | None = None) -> ExitCode:
    """Run the server until SIGTERM or SIGINT; returns the process exit code.

    Raises PolicyInvalidError or CertificateError when either cannot be loaded (the CLI
    says so); DENIED when the address cannot be bound, OK after a clean drain.
    """
    configure_logging(settings.log_level)
    # The event loop answers admissions; other threads (file reads, certificate reloads)
    # hand the interpreter back to it within this long, not the default 5 ms a switch.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # every connection is a descriptor; the cap is fitted to the limit in create_app
    raise_open_file_limit()
    app = create_app(settings, worker)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(_run(app, settings))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's event loop where it is installed (Linux and macOS), else asyncio's.

    uvloop's TLS transport and loop are written in Cython: in one A/B run of the
    request-path bench they took 9% off the server's CPU per review (153 vs 168 µs).
    The server behaves the same on either (the integration tests run on this one).
    """
    try:
        import uvloop
    except ImportError:  # Windows: the offline tools still install; serve runs on asyncio
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def event_loop_name() -> str:
    """Which event loop `serve` runs on, for its start-up log."""
    return "asyncio" if event_loop_factory() is asyncio.new_event_loop else "uvloop"


async def _run(app: web.Application, settings: Settings) -> ExitCode:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "judging objects %s",
        cluster_view.mode(settings),
        extra={"fields": {"event": "mode", "cluster_view": settings.cluster_view}},
    )
    try:
        runner = await start(app, settings)
    except ClusterAccessError as exc:
        log.error("%s", exc, extra={"fields": {"event": "cluster_access_failed"}})
        return ExitCode.ERROR
    except OSError as exc:
        log.error(
            "cannot listen on %s:%d: %s",
            settings.host,
            settings.port,
            exc,
            extra={"fields": {"event": "listen_failed"}},
        )
        return ExitCode.DENIED
    limits = app[CONNECTIONS].limits
    if limits.max_connections < settings.max_connections:
        log.warning(
            "the open-file limit allows %d client connections, not --max-connections %d",
            limits.max_connections,
            settings.max_connections,
            extra={"fields": {"event": "connection_limit_lowered"}},
        )
    for address in runner.addresses:
        if isinstance(address, str):
            continue  # a worker's metrics socket, not a listener
        host, port = address[0], address[1]
        log.info(
            "serving admission reviews on https://%s:%d/validate",
            host,
            port,
            extra={
                "fields": {
                    "event": "listening",
                    "host": host,
                    "port": port,
                    "max_connections": limits.max_connections,
                    "header_timeout": settings.header_timeout,
                    "body_timeout": settings.body_timeout,
                    "idle_timeout": settings.idle_timeout,
                    "event_loop": event_loop_name(),
                }
            },
        )
    await stop.wait()
    await drain(runner, app, settings.shutdown_timeout)
    log.info("stopped", extra={"fields": {"event": "stopped"}})
    return ExitCode.OK


async def drain(runner: web.AppRunner, app: web.Application, grace: float) -> None:
    """Stop listening, let every request in flight finish (up to `grace` seconds), then stop."""
    in_flight = app[IN_FLIGHT]
    for site in list(runner.sites):
        await site.stop()
    log.info(
        "stopping: no new connections; draining %d request(s) in flight (up to %.0f s)",
        in_flight.count,
        grace,
        extra={"fields": {"event": "draining", "in_flight": in_flight.count}},
    )
    if not await in_flight.drained(grace):
        log.warning(
            "%d request(s) still in flight after %.0f s; closing their connections",
            in_flight.count,
            grace,
            extra={"fields": {"event": "drain_timeout", "in_flight": in_flight.count}},
        )
    await runner.cleanup()


@dataclass(frozen=True, slots=True)
class _Reloadable:
    """A file-backed thing the reload loop watches: what it is, and how to reload it."""

    what: str
    changed: Callable[[], bool]
    reload: Callable[[], Awaitable[bool | None]]
    #: Count and log the reload's result (True loaded, False refused, None unchanged).
    report: Callable[[bool | None], None]


async def _reloads(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: one loop reloads the policy and the certificate when they change.

    Each pass ends by counting itself (egress_webhook_reload_checks_total), so anyone can
    see the loop is alive and wait for a pass that started after a change on disk.
    """
    watched = (_policy_reloadable(app), _certificate_reloadable(app))
    metrics = app[METRICS]

    async def passes() -> None:
        while True:
            await asyncio.sleep(app[SETTINGS].reload_interval)
            for item in watched:
                try:
                    if item.changed():
                        item.report(await item.reload())
                except Exception:
                    log.exception(
                        "checking %s for changes failed",
                        item.what,
                        extra={"fields": {"event": "watch_error"}},
                    )
            metrics.reload_checks.inc()

    task = asyncio.create_task(passes())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _policy_reloadable(app: web.Application) -> _Reloadable:
    policy = app[POLICY]
    metrics = app[METRICS]

    def report(result: bool | None) -> None:
        if result is True:
            metrics.policy_reloads.labels(result="success").inc()
            metrics.policy_loaded_at.set(policy.loaded_at.timestamp())
            metrics.observe_policy(policy.sha256, policy.compiled.mode)
            log.info(
                "policy reloaded from %s",
                policy.path,
                extra={
                    "fields": {
                        "event": "policy_reloaded",
                        "path": str(policy.path),
                        "sha256": policy.sha256,
                        "mode": policy.compiled.mode,
                    }
                },
            )
        elif result is False and policy.last_failure is not None:
            metrics.policy_reloads.labels(result="failure").inc()
            log.error(
                "policy %s changed but does not load; still serving the last good policy "
                "(sha256 %s):\n%s",
                policy.path,
                policy.sha256[:12],
                "\n".join(policy.last_failure.problems),
                extra={
                    "fields": {
                        "event": "policy_reload_failed",
                        "path": str(policy.path),
                        "problems": list(policy.last_failure.problems),
                        "serving_sha256": policy.sha256,
                    }
                },
            )
        metrics.policy_healthy.set(0 if policy.last_failure is not None else 1)

    in_flight = app[IN_FLIGHT]
    return _Reloadable("the policy", policy.changed, lambda: policy.reload(in_flight.idle), report)


def _certificate_reloadable(app: web.Application) -> _Reloadable:
    certificate = app[CERTIFICATE]
    metrics = app[METRICS]

    def report(result: bool | None) -> None:
        if result is True:
            metrics.certificate_reloads.labels(result="success").inc()
            metrics.certificate_expiry.set(certificate.info.not_after.timestamp())
            log.info(
                "serving certificate reloaded (serial %x, valid until %s)",
                certificate.info.serial,
                certificate.info.not_after.isoformat(),
                extra={
                    "fields": {
                        "event": "certificate_reloaded",
                        "serial": f"{certificate.info.serial:x}",
                        "not_after": certificate.info.not_after.isoformat(),
                    }
                },
            )
        elif result is False:
            metrics.certificate_reloads.labels(result="failure").inc()
            log.error(
                "serving certificate changed but does not load; keeping the current one: %s",
                certificate.last_error,
                extra={
                    "fields": {
                        "event": "certificate_reload_failed",
                        "error": certificate.last_error,
                    }
                },
            )

    return _Reloadable(
        "the certificate",
        certificate.changed,
        lambda: asyncio.to_thread(certificate.reload),
        report,
    )
