"""`serve --workers 2`, real processes on 127.0.0.1: both serve, reload, and drain on SIGTERM."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import socket
import ssl
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.load import children
from tests.conftest import ROOT
from tests.integration.conftest import (
    TIMEOUT,
    CertificateAuthority,
    SecretVolume,
    admission_review,
    client_context,
    eventually,
    load_manifests,
)
from webhook.errors import ExitCode
from webhook.server.app import create_app, start
from webhook.server.workers import Worker
from webhook.settings import Settings

WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _request(port: int, ca: ssl.SSLContext, head: str, body: bytes = b"") -> bytes:
    """One request on a connection of its own (a new source port: any worker may take it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ca)
    writer.write(head.encode() + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    return response.partition(b"\r\n\r\n")[2]


async def _metrics(port: int, ca: ssl.SSLContext) -> dict[tuple[str, str], float]:
    """{(sample name + labels without worker, worker): value} from the aggregated /metrics."""
    text = await _request(
        port, ca, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if k != "worker"}
            key = sample.name + json.dumps(labels, sort_keys=True)
            out[key, sample.labels.get("worker", "")] = sample.value
    return out


def _reviews_by_worker(metrics: dict[tuple[str, str], float]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for (name, worker), value in metrics.items():
        if name.startswith("egress_webhook_admission_reviews_total"):
            counts[worker] = counts.get(worker, 0) + value
    return counts


def _policies_by_worker(metrics: dict[tuple[str, str], float]) -> dict[str, set[str]]:
    serving: dict[str, set[str]] = {}
    for (name, worker), value in metrics.items():
        if name.startswith("egress_webhook_policy_info") and value == 1:
            labels = json.loads("{" + name.partition("{")[2])
            serving.setdefault(worker, set()).add(labels["sha256"])
    return serving


async def test_workers_share_the_port_reload_together_and_drain_on_sigterm(
    policy_path: Path, secret_volume: SecretVolume, test_ca: CertificateAuthority
) -> None:
    port = _free_port()
    ca = client_context(test_ca.cert_pem)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhook", "serve", "--policy", str(policy_path),
        "--tls-cert", str(secret_volume.cert), "--tls-key", str(secret_volume.key),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--reload-interval", "0.2",
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    logs: list[dict[str, object]] = []

    async def wait_for(event: str, count: int) -> None:
        assert process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while sum(1 for line in logs if line.get("event") == event) < count:
                raw = await process.stderr.readline()
                assert raw, f"the server exited before {count} {event!r} lines: {logs}"
                logs.append(json.loads(raw))

    try:
        await wait_for("listening", WORKERS)
        ready = json.loads(
            await _request(
                port, ca, "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
        )
        assert ready["ready"] is True
        assert ready["workers"]["listening"] == ready["workers"]["count"] == WORKERS

        # every worker answers reviews on the one port
        review = json.dumps(admission_review(load_manifests("denied")[0], uid="w")).encode()
        head = (
            "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(review)}\r\nConnection: close\r\n\r\n"
        )
        async with asyncio.timeout(TIMEOUT):
            while True:
                answer = json.loads(await _request(port, ca, head, review))
                assert answer["response"]["uid"] == "w"
                counts = _reviews_by_worker(await _metrics(port, ca))
                if len(counts) == WORKERS and all(counts.values()):
                    break

        # a policy change on disk reaches every worker
        text = await asyncio.to_thread(policy_path.read_text) + "\n# changed\n"
        await asyncio.to_thread(policy_path.write_text, text)
        wanted = hashlib.sha256(text.encode()).hexdigest()

        async def every_worker_serves_it() -> bool:
            serving = _policies_by_worker(await _metrics(port, ca))
            return len(serving) == WORKERS and all(s == {wanted} for s in serving.values())

        await eventually(every_worker_serves_it, "every worker serves the changed policy")

        # SIGTERM to the supervisor drains and stops every worker
        process.send_signal(signal.SIGTERM)
        await wait_for("stopped", WORKERS)
        async with asyncio.timeout(TIMEOUT):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_worker_that_dies_stops_the_others_and_the_pod_exits_with_an_error(
    policy_path: Path, secret_volume: SecretVolume, test_ca: CertificateAuthority
) -> None:
    # Kubernetes then restarts the container, as it would a single server that crashed
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhook", "serve", "--policy", str(policy_path),
        "--tls-cert", str(secret_volume.cert), "--tls-key", str(secret_volume.key),
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    events: list[object] = []

    async def wait_for(event: str, count: int) -> None:
        assert process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while events.count(event) < count:
                raw = await process.stderr.readline()
                assert raw, f"the server exited before {count} {event!r} lines: {events}"
                events.append(json.loads(raw).get("event"))

    try:
        await wait_for("listening", WORKERS)
        workers = children(process.pid)
        assert len(workers) == WORKERS
        victim, survivor = workers
        os.kill(victim, signal.SIGKILL)
        await wait_for("stopped", 1)  # the survivor drained and stopped
        async with asyncio.timeout(TIMEOUT):
            assert await process.wait() == ExitCode.ERROR
        assert not _running(survivor), "the supervisor left a worker running"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


async def test_a_worker_is_not_ready_until_every_worker_listens(
    settings: Settings, test_ca: CertificateAuthority, tmp_path: Path
) -> None:
    """The API server keeps its connections: made before a sibling listened, they would
    all stay with this worker. /readyz waits for every worker's socket."""
    worker = Worker(index=0, count=WORKERS, folder=tmp_path)
    runner = await start(create_app(settings, worker), settings)
    port = next(a[1] for a in runner.addresses if not isinstance(a, str))
    ca = client_context(test_ca.cert_pem)
    head = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    sibling = socket.socket(socket.AF_UNIX)
    try:
        alone = json.loads(await _request(port, ca, head))
        assert alone["ready"] is False
        assert alone["workers"] == {"count": WORKERS, "listening": 1, "this": 0}
        # the sibling's metrics socket: what a worker opens once its port listens
        sibling.bind(str(worker.socket_path(1)))
        both = json.loads(await _request(port, ca, head))
        assert both["ready"] is True
        assert both["workers"]["listening"] == WORKERS
    finally:
        sibling.close()
        await runner.cleanup()
