"""The listener: slow clients dropped at their deadline, the connection cap, eviction order."""

from __future__ import annotations

import asyncio
import json
import resource
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import (
    TIMEOUT,
    CertificateAuthority,
    RunningWebhook,
    admission_review,
    client_context,
    eventually,
    load_manifests,
    running_webhook,
)
from webhook.server.connections import RESERVED_FDS, ConnectionLimits, raise_open_file_limit
from webhook.server.state import CONNECTIONS
from webhook.settings import Settings

REVIEW = json.dumps(admission_review(load_manifests("allowed")[0])).encode()
#: Short deadlines, so that a test sees them pass; long enough for a loaded machine to
#: finish a handshake and a request well within them.
SHORT = {"header_timeout": 1.0, "body_timeout": 1.0, "idle_timeout": 1.0}
#: The slow client's pace: a byte this often, well inside every deadline of SHORT.
TRICKLE_PACE = 0.1


def _request(body: bytes = REVIEW, *, length: int | None = None) -> bytes:
    return (
        "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    ).encode() + body


@pytest.fixture
async def strict(
    settings: Settings, test_ca: CertificateAuthority
) -> AsyncIterator[RunningWebhook]:
    """The server with one-second header, body and idle deadlines."""
    async with running_webhook(settings.model_copy(update=SHORT), test_ca.cert_pem) as running:
        yield running


async def _connect(
    webhook: RunningWebhook, *, tls: bool = True
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = client_context(webhook.ca_pem) if tls else None
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", webhook.port, ssl=context), TIMEOUT
    )


async def _read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded by TIMEOUT)."""
    data = b""
    async with asyncio.timeout(TIMEOUT):
        try:
            while chunk := await reader.read(65536):
                data += chunk
        except (ConnectionResetError, ssl.SSLError):
            # an aborted TLS connection ends without close_notify
            pass
    return data


async def _metric(webhook: RunningWebhook, name: str, **labels: str) -> float:
    _, text = await webhook.get("/metrics")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"no sample {name}{labels} in /metrics")


async def _closed(webhook: RunningWebhook, reason: str) -> float:
    return await _metric(webhook, "egress_webhook_connections_closed_total", reason=reason)


async def _review_gets_in(webhook: RunningWebhook) -> asyncio.StreamWriter:
    """A review on a new connection is answered 200; its writer, to close."""
    reader, writer = await _connect(webhook)
    writer.write(_request())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 200 OK")
    return writer


async def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_header_timeout(
    strict: RunningWebhook,
) -> None:
    reader, writer = await _connect(strict)
    started = time.monotonic()
    received = b""
    # a byte every TRICKLE_PACE seconds, for as long as the server keeps the connection:
    # each round waits for its close (or data), and sends the next byte only if none came
    for byte in _request():
        try:
            writer.write(bytes([byte]))
            await writer.drain()
            async with asyncio.timeout(TRICKLE_PACE):
                chunk = await reader.read(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, ssl.SSLError):
            break  # an aborted TLS connection ends without close_notify
        received += chunk
        if not chunk:
            break
    else:
        received += await _read_until_closed(reader)
    elapsed = time.monotonic() - started
    writer.close()
    assert received == b""
    # never before the deadline; the upper bound only says it was not the 2-hour default
    assert elapsed >= 0.9
    assert elapsed < TIMEOUT
    assert await _closed(strict, "header_timeout") == 1


async def test_a_connection_that_never_starts_tls_is_dropped(strict: RunningWebhook) -> None:
    reader, writer = await _connect(strict, tls=False)
    assert await _read_until_closed(reader) == b""
    writer.close()
    assert await _closed(strict, "tls_handshake_timeout") == 1


async def test_a_body_that_stalls_is_answered_408_and_the_connection_closed(
    strict: RunningWebhook,
) -> None:
    reader, writer = await _connect(strict)
    writer.write(_request(REVIEW[:100], length=len(REVIEW)))
    await writer.drain()
    response = await _read_until_closed(reader)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in head
    assert json.loads(body)["message"] == (
        "the body did not arrive within 1 s of the request's headers"
    )
    assert await _closed(strict, "body_timeout") == 1
    assert await _metric(strict, "egress_webhook_rejected_requests_total", code="408") == 1


async def test_an_idle_kept_alive_connection_is_closed_at_the_idle_timeout(
    strict: RunningWebhook,
) -> None:
    reader, writer = await _connect(strict)
    for _ in range(2):
        writer.write(_request())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 200 OK")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
    answered = time.monotonic()
    # open for the next request until the idle timeout, counted from the last answer
    assert await _read_until_closed(reader) == b""
    assert time.monotonic() - answered >= 0.9
    writer.close()
    assert await _closed(strict, "idle_timeout") == 1


@pytest.fixture
async def capped(
    settings: Settings, test_ca: CertificateAuthority
) -> AsyncIterator[RunningWebhook]:
    """The server with room for 4 connections (the test client's own takes one)."""
    limited = settings.model_copy(update={"max_connections": 4, "header_timeout": TIMEOUT * 3})
    async with running_webhook(limited, test_ca.cert_pem) as running:
        yield running


async def test_at_the_cap_a_new_connection_replaces_the_oldest_one_without_a_request(
    capped: RunningWebhook,
) -> None:
    # the test client's keep-alive connection has served a request: it goes last
    assert (await capped.get("/healthz"))[0] == 200
    # three slowloris connections fill the cap: TLS done, headers never finished
    slow = [await _connect(capped) for _ in range(3)]
    for _, writer in slow:
        writer.write(b"POST /validate HTTP/1.1\r\n")
    # a real review still gets in, on a new connection, at the cost of the oldest
    writer = await _review_gets_in(capped)
    assert await _read_until_closed(slow[0][0]) == b""
    assert await _closed(capped, "evicted") == 1
    assert await _metric(capped, "egress_webhook_open_connections") == 4
    for w in [*(w for _, w in slow), writer]:
        w.close()


async def test_at_the_cap_age_decides_not_how_far_a_connection_got(
    capped: RunningWebhook,
) -> None:
    assert (await capped.get("/healthz"))[0] == 200  # the test client's: kept, goes last
    # two slowloris connections, then a younger one that has sent nothing yet (a real
    # client whose ClientHello the server has not read looks like this)
    slow = [await _connect(capped) for _ in range(2)]
    for _, writer in slow:
        writer.write(b"POST /validate HTTP/1.1\r\n")
        await writer.drain()
    _, bare = await _connect(capped, tls=False)
    # the next connection evicts the oldest slowloris, not the younger silent one
    writer = await _review_gets_in(capped)
    assert await _read_until_closed(slow[0][0]) == b""
    assert await _closed(capped, "evicted") == 1
    for w in [*(w for _, w in slow), bare, writer]:
        w.close()


async def test_a_connection_with_a_request_in_progress_is_never_evicted(
    capped: RunningWebhook,
) -> None:
    # four connections each in the middle of a body: nothing may be evicted
    await capped.session.close()
    busy = [await _connect(capped) for _ in range(4)]
    for _, writer in busy:
        writer.write(_request(REVIEW[:10], length=len(REVIEW)))
        await writer.drain()
    table = capped.app[CONNECTIONS]

    async def all_busy() -> bool:
        return not table.evictable() and len(table) == 4

    await eventually(all_busy, "four connections with a request in progress")
    # a fifth waits in the kernel's accept queue: the listener does not take it while
    # every connection it has is busy, so its handshake cannot even start
    late = asyncio.create_task(_connect(capped))

    async def queued() -> bool:
        return _accept_queue(capped.port) == 1

    await eventually(queued, "the fifth connection waits in the listening socket's queue")
    assert not late.done()
    assert len(table) == 4
    # one body completes; its connection goes idle and the queued one takes its place
    reader, writer = busy[0]
    writer.write(REVIEW[10:])
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 200 OK")
    late_reader, late_writer = await asyncio.wait_for(late, TIMEOUT)
    for _, w in [*busy, (late_reader, late_writer)]:
        w.close()


def test_the_cap_fits_the_open_file_limit(settings: Settings) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    huge = settings.model_copy(update={"max_connections": 10**7})
    assert ConnectionLimits.from_settings(huge).max_connections == soft - RESERVED_FDS
    assert ConnectionLimits.from_settings(settings).max_connections == min(
        settings.max_connections, soft - RESERVED_FDS
    )


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        raised, _ = raise_open_file_limit()
        assert raised == (hard if hard != resource.RLIM_INFINITY else max(256, 1 << 20))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _accept_queue(port: int) -> int:
    """Connections the kernel has completed but nobody accepted yet, on the listening
    socket of 127.0.0.1:`port` (its rx_queue in /proc/net/tcp, Linux)."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":  # state 0A: LISTEN
            return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")
