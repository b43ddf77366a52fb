"""`egress-webhook serve` as a process: start-up failures; SIGTERM drains reviews in flight."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
from webhook.server.app import event_loop_name


def _command(policy: Path, volume: SecretVolume) -> list[str]:
    return [
        sys.executable,
        "-m",
        "webhook",
        "serve",
        "--policy",
        str(policy),
        "--tls-cert",
        str(volume.cert),
        "--tls-key",
        str(volume.key),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--workers",
        "1",
    ]


@dataclass
class ServeProcess:
    """A running `egress-webhook serve` and the JSON log lines it wrote so far."""

    process: asyncio.subprocess.Process
    port: int = 0
    logs: list[dict[str, Any]] = field(default_factory=list)

    async def wait_for_log(self, event: str) -> dict[str, Any]:
        """Read log lines until one with this event; fail after TIMEOUT."""
        for line in self.logs:
            if line.get("event") == event:
                return line
        assert self.process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while raw := await self.process.stderr.readline():
                line = json.loads(raw)
                self.logs.append(line)
                if line.get("event") == event:
                    return line
        pytest.fail(f"the server exited without logging {event!r}: {self.logs}")

    async def exit_code(self) -> int:
        async with asyncio.timeout(TIMEOUT):
            if self.process.stderr is not None:
                for raw in (await self.process.stderr.read()).splitlines():
                    self.logs.append(json.loads(raw))
            return await self.process.wait()


@contextlib.asynccontextmanager
async def serving(policy: Path, volume: SecretVolume) -> AsyncIterator[ServeProcess]:
    process = await asyncio.create_subprocess_exec(
        *_command(policy, volume),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    server = ServeProcess(process)
    try:
        server.port = int((await server.wait_for_log("listening"))["port"])
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_drains_the_review_in_flight_then_exits_0(
    policy_path: Path, secret_volume: SecretVolume, test_ca: CertificateAuthority
) -> None:
    review = admission_review(load_manifests("denied")[0], uid="in-flight")
    body = json.dumps(review).encode()
    head = (
        "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    ca = client_context(test_ca.cert_pem)
    async with serving(policy_path, secret_volume) as server:
        # the real process runs on the loop these tests run on (uvloop where installed)
        assert (await server.wait_for_log("listening"))["event_loop"] == event_loop_name()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", server.port, ssl=ca), TIMEOUT
        )
        # headers and half the body: the server is now handling a request it cannot finish
        writer.write(head + body[: len(body) // 2])
        await writer.drain()

        # wait until the server is handling it (the scrape that says so is the other one)
        async def handling_it() -> bool:
            return await _in_flight(server.port, ca) == 2

        await eventually(handling_it, "the half-sent review is in flight")

        server.process.send_signal(signal.SIGTERM)
        draining = await server.wait_for_log("draining")
        assert draining["in_flight"] == 1
        # no new connections while draining
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", server.port, ssl=ca), TIMEOUT
            )

        writer.write(body[len(body) // 2 :])
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            response = await reader.read()
        writer.close()
        status_line, _, rest = response.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK"
        answer = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert answer["response"]["uid"] == "in-flight"

        assert await server.exit_code() == 0
        assert server.logs[-1]["event"] == "stopped"
        decisions = [line for line in server.logs if line.get("event") == "decision"]
        assert [d["uid"] for d in decisions] == ["in-flight"]


async def _in_flight(port: int, ca: ssl.SSLContext) -> float:
    """egress_webhook_requests_in_flight, scraped over a connection of its own."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ca)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    text = (await reader.read()).decode()
    writer.close()
    line = next(x for x in text.splitlines() if x.startswith("egress_webhook_requests_in_flight "))
    return float(line.split()[1])


async def test_sigterm_when_idle_exits_0(policy_path: Path, secret_volume: SecretVolume) -> None:
    async with serving(policy_path, secret_volume) as server:
        server.process.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0


async def _run_to_exit(policy: Path, volume: SecretVolume) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *_command(policy, volume),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, (out + err).decode()


async def test_an_invalid_policy_at_start_up_exits_2_listing_every_problem(
    policy_path: Path, secret_volume: SecretVolume
) -> None:
    text = await asyncio.to_thread(policy_path.read_text)
    broken = text.replace("mode: enforce", "mode: strict").replace("number: 5432", "number: 0")
    await asyncio.to_thread(policy_path.write_text, broken)
    code, output = await _run_to_exit(policy_path, secret_volume)
    assert code == 2
    assert f"invalid policy {policy_path} (" in output
    assert f"{policy_path}:" in output
    assert "mode" in output
    assert "number" in output


async def test_an_unloadable_certificate_at_start_up_exits_2(
    policy_path: Path, secret_volume: SecretVolume
) -> None:
    await asyncio.to_thread(secret_volume.key.unlink)
    code, output = await _run_to_exit(policy_path, secret_volume)
    assert code == 2
    assert "cannot read the serving certificate or key" in output
