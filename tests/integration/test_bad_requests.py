"""Requests that are not usable reviews: 415, 413, 400 with precise messages, and never a 500."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

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
from webhook.server.state import IN_FLIGHT
from webhook.settings import Settings

SERVICE_ENTRY = load_manifests("denied")[0]


def _review(**request: Any) -> bytes:
    review = admission_review(SERVICE_ENTRY, uid="u-1")
    review["request"].update(request)
    return json.dumps(review).encode()


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        (None, "none"),
        ("text/plain", "text/plain"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/yaml", "application/yaml"),
    ],
)
async def test_a_body_that_is_not_json_by_content_type_is_415(
    webhook: RunningWebhook, content_type: str | None, shown: str
) -> None:
    status, body = await webhook.post(_review(), content_type=content_type)
    assert status == 415
    assert body["message"] == f"Content-Type must be application/json, got {shown}"


async def test_json_with_a_charset_is_accepted(webhook: RunningWebhook) -> None:
    status, body = await webhook.post(_review(), content_type="application/json; charset=utf-8")
    assert status == 200
    assert body["response"]["uid"] == "u-1"


async def test_a_body_over_the_cap_is_413_before_it_is_read(webhook: RunningWebhook) -> None:
    cap = webhook.app_settings.max_body_bytes
    status, body = await webhook.post(b" " * (cap + 1))
    assert status == 413
    assert body["message"] == (
        f"the AdmissionReview is too large: the limit is {cap} bytes, the body is {cap + 1} bytes"
    )


async def test_a_chunked_body_over_the_cap_is_413(webhook: RunningWebhook) -> None:
    cap = webhook.app_settings.max_body_bytes
    chunk = b" " * (256 * 1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(cap // len(chunk) + 2):
            yield chunk

    async with webhook.session.post(
        f"{webhook.url}/validate", data=chunks(), headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 413
        body = await resp.json()
    assert body["message"].startswith(f"the AdmissionReview is too large: the limit is {cap}")


# (body, what the 400 message must contain)
MALFORMED: list[tuple[bytes, str]] = [
    (b"", "the body is empty"),
    (b"  \n ", "the body is empty"),
    (b"not json", "not valid JSON: Expecting value: line 1 column 1"),
    (b'{"apiVersion": ', "not valid JSON: Expecting value: line 1 column 16"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"a": NaN}', "NaN is not a JSON value"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b"[]", "must be a JSON object (an AdmissionReview), got an array"),
    (b"null", "got null"),
    (b"42", "got a number"),
    (b'"AdmissionReview"', "got a string"),
    (b"{}", "apiVersion: required field is missing; kind: required field is missing"),
    (
        b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}',
        "apiVersion: Input should be 'admission.k8s.io/v1'",
    ),
    (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "ConversionReview", "request": {}}',
        "kind: Input should be 'AdmissionReview'",
    ),
    (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
        "request: required field is missing",
    ),
    (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": null}',
        "request: Input should be a valid dictionary",
    ),
    (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": []}',
        "request: Input should be a valid dictionary",
    ),
    (_review(uid=None), "request.uid: Input should be a valid string, got null"),
    (_review(uid=""), "request.uid: String should have at least 1 character"),
    (_review(uid=7), "request.uid: Input should be a valid string, got 7"),
    (_review(operation=None), "request.operation: Input should be a valid string"),
    (_review(kind="ServiceEntry"), "request.kind: Input should be a valid dictionary"),
    (_review(object=None), "request.object is required for CREATE"),
    (_review(object=[]), "request.object: Input should be a valid dictionary"),
    (_review(object="apiVersion: v1"), "request.object: Input should be a valid dictionary"),
    (_review(operation="UPDATE", object=None), "request.object is required for UPDATE"),
    (_review(dryRun="maybe"), "request.dryRun: Input should be a valid boolean"),
    (_review(userInfo=[]), "request.userInfo: Input should be a valid dictionary"),
]


@pytest.mark.parametrize(
    ("raw", "expected"), MALFORMED, ids=[f"{i}-{m[:30]}" for i, (_, m) in enumerate(MALFORMED)]
)
async def test_malformed_reviews_are_400_with_a_precise_message(
    webhook: RunningWebhook, raw: bytes, expected: str
) -> None:
    status, body = await webhook.post(raw)
    assert status == 400, body
    assert body["reason"] == "BadRequest"
    assert expected in body["message"]


# Objects that are well-formed reviews but strange objects: each gets a decision, no 500.
STRANGE_OBJECTS: list[Any] = [
    {},
    {"kind": "ServiceEntry"},
    {"kind": "ServiceEntry", "metadata": None, "spec": None},
    {"kind": "ServiceEntry", "metadata": "x", "spec": []},
    {"kind": "ServiceEntry", "metadata": {"name": 5, "namespace": []}, "spec": {"hosts": 7}},
    {"kind": "ServiceEntry", "spec": {"hosts": [None, 1, {}, []], "ports": "443"}},
    {"kind": "ServiceEntry", "spec": {"hosts": ["a.example.org"], "endpoints": [{"ports": []}]}},
    {"kind": "VirtualService", "spec": {"http": {"route": 1}, "tls": [[]], "tcp": [None]}},
    {"kind": "VirtualService", "spec": {"hosts": ["x"], "http": [{"route": [{"x": 1}]}]}},
    {"kind": ["ServiceEntry"], "apiVersion": {"a": 1}},
    {"kind": "ServiceEntry", "metadata": {"name": "\ud800\u0000\n", "labels": {"a": None}}},
    {"kind": "VirtualService", "spec": {"hosts": ["é.example.org", "*", "1.2.3.4", "a..b"]}},
    {"kind": "ServiceEntry", "spec": {"hosts": ["x" * 70_000]}},
]


@pytest.mark.parametrize("obj", STRANGE_OBJECTS, ids=range(len(STRANGE_OBJECTS)))
@pytest.mark.parametrize("operation", ["CREATE", "UPDATE", "DELETE"])
async def test_strange_objects_get_a_decision_never_a_500(
    webhook: RunningWebhook, obj: Any, operation: str
) -> None:
    review = admission_review(SERVICE_ENTRY, uid="odd", operation=operation)
    review["request"]["object"] = obj if operation != "DELETE" else None
    review["request"]["oldObject"] = obj
    status, body = await webhook.post(json.dumps(review))
    assert status == 200, body
    assert body["response"]["uid"] == "odd"
    assert isinstance(body["response"]["allowed"], bool)


async def test_unknown_routes_and_methods_are_not_500(webhook: RunningWebhook) -> None:
    assert (await webhook.get("/nope"))[0] == 404
    assert (await webhook.get("/validate"))[0] == 405
    async with webhook.session.post(f"{webhook.url}/healthz") as resp:
        assert resp.status == 405


async def test_bad_requests_are_counted(webhook: RunningWebhook) -> None:
    await webhook.post(b"{", content_type="application/json")
    await webhook.post(b"{}", content_type="text/plain")
    _, text = await webhook.get("/metrics")
    assert 'egress_webhook_rejected_requests_total{code="400"} 1.0' in text
    assert 'egress_webhook_rejected_requests_total{code="415"} 1.0' in text


def _https(webhook: RunningWebhook) -> http.client.HTTPSConnection:
    """A blocking client that writes a whole request before it reads (as http.client does)."""
    return http.client.HTTPSConnection(
        "127.0.0.1", webhook.port, context=client_context(webhook.ca_pem), timeout=TIMEOUT
    )


def _write_first(
    webhook: RunningWebhook, body: bytes | Iterator[bytes], content_type: str, *, chunked: bool
) -> tuple[int, str | None, dict[str, Any]]:
    connection = _https(webhook)
    try:
        connection.request(
            "POST",
            "/validate",
            body=body,
            headers={"Content-Type": content_type},
            encode_chunked=chunked,
        )
        response = connection.getresponse()
        return response.status, response.getheader("Connection"), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_client_that_writes_its_whole_body_first_reads_its_413(
    webhook: RunningWebhook, chunked: bool
) -> None:
    """Without the discard, such a client got a TLS EOF or a reset, never the 413."""
    cap = webhook.app_settings.max_body_bytes
    body = b" " * (cap + 1024 * 1024)
    sent: bytes | Iterator[bytes] = body
    if chunked:
        sent = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    status, connection, answer = await asyncio.to_thread(
        _write_first, webhook, sent, "application/json", chunked=chunked
    )
    assert status == 413
    # Closed when some of the body was still on its way. A chunked body whose last chunk
    # had already arrived (uvloop reads in large pieces) leaves the connection usable,
    # and aiohttp keeps it: either way the client read its 413.
    assert connection == "close" or chunked
    assert answer["reason"] == "RequestEntityTooLarge"


async def test_a_large_body_of_the_wrong_type_gets_its_415_then_a_clean_close(
    webhook: RunningWebhook,
) -> None:
    status, connection, answer = await asyncio.to_thread(
        _write_first, webhook, b"x" * (6 * 1024 * 1024), "text/plain", chunked=False
    )
    assert status == 415
    # the rest of the body would be read as the next request: the connection is not kept
    assert connection == "close"
    assert answer["message"] == "Content-Type must be application/json, got text/plain"


def _twice_on_one_connection(webhook: RunningWebhook, first: bytes, content_type: str) -> list[int]:
    connection = _https(webhook)
    statuses = []
    try:
        for body, kind in ((first, content_type), (_review(), "application/json")):
            connection.request("POST", "/validate", body=body, headers={"Content-Type": kind})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        # http.client reconnects by itself only after a Connection: close; it did not
        assert connection.sock is not None
    finally:
        connection.close()
    return statuses


async def test_a_small_body_of_the_wrong_type_keeps_the_connection(
    webhook: RunningWebhook,
) -> None:
    """Once the whole body has arrived, nothing is left to misread: keep-alive holds."""
    statuses = await asyncio.to_thread(_twice_on_one_connection, webhook, b"x" * 100, "text/plain")
    assert statuses == [415, 200]


@pytest.mark.parametrize("split", [False, True], ids=["in-one-write", "after-the-headers"])
async def test_a_broken_chunked_body_is_a_client_error_never_a_500(
    settings: Settings, test_ca: CertificateAuthority, caplog: pytest.LogCaptureFixture, split: bool
) -> None:
    """In one write, aiohttp's parser answers 400 before any handler runs. After the
    headers, its C parser (aiohttp 3.14) drops the request's body stream without an
    error, so the body read waits out body_timeout: 408 (1 s here)."""
    quick = settings.model_copy(update={"body_timeout": 1.0})
    async with running_webhook(quick, test_ca.cert_pem) as webhook:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", webhook.port, ssl=client_context(webhook.ca_pem)),
            TIMEOUT,
        )
        head = (
            b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        broken = b"5\r\n{}\r\nzz\r\n"
        if split:
            writer.write(head)
            await writer.drain()

            async def handling() -> bool:
                return webhook.app[IN_FLIGHT].count == 1

            await eventually(handling, "the server is reading the body")
            writer.write(broken)
        else:
            writer.write(head + broken)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            response = await reader.read()
        writer.close()
        status = response.split(b" ", 2)[1]
        assert status == (b"408" if split else b"400"), response[:200]
        _, text = await webhook.get("/metrics")
    assert 'egress_webhook_rejected_requests_total{code="500"}' not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_client_reset_mid_body_is_a_client_event_not_a_bug(
    webhook: RunningWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webhook")
    body = _review()
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", webhook.port, ssl=client_context(webhook.ca_pem)),
        TIMEOUT,
    )
    writer.write(
        b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:50]
    )
    await writer.drain()

    in_progress = webhook.app[IN_FLIGHT]

    async def handling() -> bool:
        return in_progress.count == 1

    await eventually(handling, "the server is reading the body")
    # SO_LINGER 0: close() sends a TCP RST, as a crashed or killed client's kernel does
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

    async def counted() -> bool:
        _, text = await webhook.get("/metrics")
        return "egress_webhook_client_disconnects_total 1.0" in text

    await eventually(counted, "the reset is counted as a client disconnect")
    events = [getattr(r, "fields", {}).get("event") for r in caplog.records]
    assert "client_disconnected" in events
    assert "internal_error" not in events
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    (line,) = [
        r for r in caplog.records if getattr(r, "fields", {}).get("event") == "client_disconnected"
    ]
    assert line.levelno == logging.INFO
    _, text = await webhook.get("/metrics")
    assert 'egress_webhook_rejected_requests_total{code="500"}' not in text
