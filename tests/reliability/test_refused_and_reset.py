"""What a client sees from the real server when its body is refused, and what the server
logs when a client resets: status codes a write-first client can read, and client events
that are not bugs."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
from collections.abc import Iterator

import pytest

from tests.fuzz.corpus import SEEDS, admission_review
from tests.reliability.conftest import ServerFactory
from tests.server_process import TlsFiles, WebhookProcess

pytestmark = pytest.mark.reliability

MIB = 1024 * 1024
REVIEW = json.dumps(admission_review(SEEDS[0], uid="after")).encode()


def _connection(webhook: WebhookProcess) -> http.client.HTTPSConnection:
    """Python's http.client: it writes the whole request before it reads a byte."""
    return http.client.HTTPSConnection(
        "127.0.0.1", webhook.port, context=webhook.tls.client_context(), timeout=60
    )


def _chunks(body: bytes) -> Iterator[bytes]:
    return (body[i : i + 65536] for i in range(0, len(body), 65536))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_write_first_client_reads_its_413(server: ServerFactory, framing: str) -> None:
    body = b" " * (9 * MIB)
    with server() as webhook:
        connection = _connection(webhook)
        chunked = framing == "chunked"
        connection.request(
            "POST", "/validate", body=_chunks(body) if chunked else body,
            headers={"Content-Type": "application/json"}, encode_chunked=chunked,
        )  # fmt: skip
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()
        assert webhook.process.poll() is None
    assert response.status == 413
    assert response.getheader("Connection") == "close"
    assert answer["reason"] == "RequestEntityTooLarge"


def test_a_large_body_of_the_wrong_type_is_answered_415_and_the_connection_closed_cleanly(
    server: ServerFactory,
) -> None:
    with server() as webhook:
        connection = _connection(webhook)
        connection.request("POST", "/validate", body=b"x" * (6 * MIB),
                           headers={"Content-Type": "text/plain"})  # fmt: skip
        refused = connection.getresponse()
        refused.read()
        # http.client saw Connection: close and reconnects: the next review just works
        connection.request("POST", "/validate", body=REVIEW,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        after = connection.getresponse()
        after.read()
        connection.close()
    assert refused.status == 415
    assert refused.getheader("Connection") == "close"
    assert after.status == 200


def test_a_small_body_of_the_wrong_type_keeps_the_connection(server: ServerFactory) -> None:
    with server() as webhook:
        connection = _connection(webhook)
        connection.request("POST", "/validate", body=b"x" * 1000,
                           headers={"Content-Type": "text/plain"})  # fmt: skip
        refused = connection.getresponse()
        refused.read()
        kept = connection.sock
        connection.request("POST", "/validate", body=REVIEW,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        after = connection.getresponse()
        after.read()
        same = connection.sock is kept
        connection.close()
    assert (refused.status, refused.getheader("Connection")) == (415, None)
    assert after.status == 200
    assert same


def test_a_client_reset_mid_body_is_logged_as_a_client_event_not_a_bug(
    server: ServerFactory, tls: TlsFiles
) -> None:
    with server() as webhook:
        raw = socket.create_connection(("127.0.0.1", webhook.port), timeout=60)
        sock = tls.client_context().wrap_socket(raw, server_hostname="127.0.0.1")
        sock.sendall(
            b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(REVIEW)}\r\n\r\n".encode()
            + REVIEW[:100]
        )
        # the request is being handled (the metrics scrape is the other one in flight)
        webhook.wait_for(
            "the server is reading the body",
            lambda: webhook.metric("egress_webhook_requests_in_flight") == 2,
        )
        # SO_LINGER 0: close() sends a TCP RST, as a killed client's kernel does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        event = webhook.wait_for_log("client_disconnected")
        disconnects = webhook.metric("egress_webhook_client_disconnects_total")
        rejected_500 = webhook.metric("egress_webhook_rejected_requests_total", code="500")
        errors = [line for line in webhook.logs() if line["level"] in ("ERROR", "CRITICAL")]
        assert webhook.process.poll() is None
    assert event["level"] == logging.getLevelName(logging.INFO)
    assert event["error"].startswith("ConnectionResetError")
    assert "traceback" not in event
    assert disconnects == 1
    assert rejected_500 == 0
    assert errors == []
