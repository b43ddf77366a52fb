"""The real server while its certificate and policy change under load, and SIGTERM while
slow uploads are in flight."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_POLICY
from tests.fuzz.corpus import SEEDS, admission_review, problems_with
from tests.integration.conftest import CertificateAuthority, SecretVolume
from tests.reliability.conftest import ServerFactory
from tests.server_process import TlsFiles, WebhookProcess, webhook_process
from webhook.certs import generate_ca

pytestmark = pytest.mark.reliability

MIB = 1024 * 1024
EXFIL = next(o for o in SEEDS if o["metadata"]["name"] == "exfil")
ALLOW_EVIL = """\
  - host: evil.example.org
    ports:
      - number: 443
egressGateway:"""


def _readyz(webhook: WebhookProcess) -> dict[str, Any]:
    with webhook.client() as client:
        answer = client.get("/readyz")
    detail: dict[str, Any] = json.loads(answer.body)
    return detail


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_certificate_and_policy_reload_storms_under_load_fail_no_request(
    tmp_path: Path,
) -> None:
    authority = CertificateAuthority(authority=generate_ca("reload storm CA", days=1))
    volume = SecretVolume(tmp_path / "tls")
    volume.publish(authority.issue())
    ca = tmp_path / "ca.crt"
    ca.write_bytes(authority.cert_pem)
    policy = tmp_path / "policy.yaml"
    shutil.copyfile(EXAMPLE_POLICY, policy)
    original = policy.read_text()
    variants = [
        ("allows evil.example.org", original.replace("egressGateway:", ALLOW_EVIL, 1), True),
        ("the original", original, False),
        ("invalid", original.replace("mode:", "mdoe:"), None),
    ]
    swaps = 30
    tls = TlsFiles(ca, volume.cert, volume.key)
    with webhook_process(tmp_path / "run", tls, "--reload-interval", "0.05",
                         policy=policy) as webhook:  # fmt: skip
        stop = threading.Event()
        failures: list[str] = []
        answered = [0]
        body = json.dumps(admission_review(EXFIL, uid="storm")).encode()

        def load(fresh: bool) -> None:
            client = webhook.client()
            while not stop.is_set():
                try:
                    answer = client.post(body)
                except OSError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    client.close()
                    continue
                failures.extend(problems_with(answer, body))
                answered[0] += 1
                if fresh:
                    # a new connection, and a new TLS handshake, for every review
                    client.close()
            client.close()

        threads = [threading.Thread(target=load, args=(fresh,)) for fresh in (False, True) * 2]
        for thread in threads:
            thread.start()
        try:
            last_good = False
            for swap in range(swaps):
                renewed = authority.issue()
                volume.publish(renewed)
                what, text, allows = variants[swap % len(variants)]
                _write_atomically(policy, text)
                serial = f"{renewed.serial:x}"
                webhook.wait_for(
                    f"swap {swap}: certificate {serial} and policy {what!r} picked up",
                    lambda serial=serial, text=text, allows=allows: _picked_up(
                        webhook, serial, text, allows
                    ),
                )
                if allows is not None:
                    last_good = allows
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        # the storm ended on an invalid policy: the last good one is still deciding
        with webhook.client() as client:
            verdict = json.loads(client.post(body).body)["response"]["allowed"]
        ready = _readyz(webhook)
        reloads = {
            result: webhook.metric("egress_webhook_certificate_reloads_total", result=result)
            for result in ("success", "failure")
        }
        assert webhook.process.poll() is None
    print(f"\n{answered[0]} reviews answered during {swaps} certificate and policy swaps; "
          f"certificate reloads {reloads}")  # fmt: skip
    assert failures == []
    assert answered[0] > swaps
    assert reloads == {"success": swaps, "failure": 0}
    assert ready["policy"]["lastReloadError"] is not None
    assert verdict is last_good


def _picked_up(webhook: WebhookProcess, serial: str, text: str, allows: bool | None) -> bool:
    ready = _readyz(webhook)
    if ready["certificate"]["serial"] != serial:
        return False
    if allows is None:
        return ready["policy"]["lastReloadError"] is not None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return bool(ready["policy"]["sha256"] == digest and ready["policy"]["lastReloadError"] is None)


def _upload_body() -> bytes:
    obj = json.loads(json.dumps(SEEDS[0]))
    obj["metadata"]["annotations"] = {"last-applied": "x" * (3 * MIB)}
    return json.dumps(admission_review(obj, uid="upload")).encode()


async def test_sigterm_with_32_slow_uploads_in_flight_answers_them_all_and_exits_0(
    server: ServerFactory, tls: TlsFiles
) -> None:
    uploads, chunk = 32, 128 * 1024
    body = _upload_body()
    head = (
        "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    context = tls.client_context()
    with server() as webhook:
        connections = [
            await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", webhook.port, ssl=context), 60
            )
            for _ in range(uploads)
        ]
        for _, writer in connections:
            writer.write(head + body[:chunk])
            await writer.drain()
        # all 32 are being handled (and the metrics scrape that says so)
        await asyncio.to_thread(
            webhook.wait_for,
            "32 uploads in flight",
            lambda: webhook.metric("egress_webhook_requests_in_flight") == uploads + 1,
        )
        webhook.process.send_signal(signal.SIGTERM)
        draining = await asyncio.to_thread(webhook.wait_for_log, "draining")
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", webhook.port, ssl=context)

        async def finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
            # the rest of the 3 MiB, slowly: a chunk, then a pause
            for offset in range(chunk, len(body), chunk):
                writer.write(body[offset : offset + chunk])
                await writer.drain()
                await asyncio.sleep(0.02)
            response = await asyncio.wait_for(reader.read(), 60)
            writer.close()
            return response

        started = time.monotonic()
        responses = await asyncio.gather(*(finish(r, w) for r, w in connections))
        code = await asyncio.to_thread(webhook.stop, signal.SIGTERM)
        stopped_after = time.monotonic() - started
        decisions = webhook.events("decision")
        last = webhook.logs()[-1]
    print(f"\n{uploads} uploads of {len(body) / MIB:.1f} MiB finished and the server "
          f"stopped {stopped_after:.1f} s after the drain began")  # fmt: skip
    assert draining["in_flight"] == uploads
    for response in responses:
        assert response.startswith(b"HTTP/1.1 200 OK\r\n"), response[:200]
        assert b"Connection: close" in response.split(b"\r\n\r\n")[0]
        assert json.loads(response.split(b"\r\n\r\n", 1)[1])["response"]["uid"] == "upload"
    assert code == 0
    assert len(decisions) == uploads
    assert last["event"] == "stopped"
