"""The real `egress-webhook serve` as a child process on 127.0.0.1, and a blocking client.

For the suites that need the process itself: its exit (a crash), its memory
(/proc/PID/status), its descriptors, SIGTERM. Waits are for what the process shows
(a log line, a metric), each bounded by a deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import EXAMPLE_POLICY, ROOT
from tests.fuzz.corpus import Answer
from webhook.certs import certificate_pem, generate_ca, issue_serving_certificate, private_key_pem

#: Every wait on the server is bounded by this.
DEADLINE = 30.0
#: The server's address space (RLIMIT_AS): some inputs make the engine allocate without
#: bound (a host of 200,000 "*." labels, say); under this limit that is a MemoryError,
#: a 500 the tests report, instead of the machine running out of memory. The server
#: needs ~150 MiB idle, a few hundred with maximal reviews or thousands of connections.
MEMORY_LIMIT = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class TlsFiles:
    """A CA and a serving certificate for 127.0.0.1, written to disk."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def create(cls, folder: Path) -> TlsFiles:
        folder.mkdir(parents=True, exist_ok=True)
        authority = generate_ca("egress-webhook test CA", days=1)
        cert, key = issue_serving_certificate(
            authority, dns_names=["localhost"], ip_addresses=["127.0.0.1"], days=1
        )
        files = cls(folder / "ca.crt", folder / "tls.crt", folder / "tls.key")
        files.ca.write_bytes(certificate_pem(authority[0]))
        files.cert.write_bytes(certificate_pem(cert))
        files.key.write_bytes(private_key_pem(key))
        return files

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


@dataclass
class WebhookProcess:
    """A running `egress-webhook serve`, its log (JSON lines in a file) and its port."""

    process: subprocess.Popen[bytes]
    log_path: Path
    tls: TlsFiles
    port: int = 0
    _read: int = field(default=0, repr=False)
    _lines: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> list[dict[str, Any]]:
        """Every log line so far."""
        with self.log_path.open("rb") as handle:
            handle.seek(self._read)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read += len(complete)
        for raw in complete.splitlines():
            try:
                self._lines.append(json.loads(raw))
            except ValueError:
                self._lines.append({"event": "not-json", "message": raw.decode(errors="replace")})
        return self._lines

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.logs() if line.get("event") == event]

    def wait_for(self, what: str, check: Callable[[], Any], deadline: float = DEADLINE) -> Any:
        """Poll `check` until it returns something truthy; fail after `deadline` seconds."""
        end = time.monotonic() + deadline
        while True:
            result = check()
            if result:
                return result
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the server exited ({self.process.returncode}) before: {what}\n"
                    + self.log_tail()
                )
            if time.monotonic() > end:
                raise AssertionError(f"still not true after {deadline} s: {what}")
            time.sleep(0.02)

    def wait_for_log(self, event: str, deadline: float = DEADLINE) -> dict[str, Any]:
        found: dict[str, Any] = self.wait_for(
            f"log event {event!r}", lambda: next(iter(self.events(event)), None), deadline
        )
        return found

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(json.dumps(line) for line in self.logs()[-lines:])

    def status(self, key: str) -> int:
        """A /proc/PID/status value in kB (VmRSS: resident now, VmHWM: peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {key} in /proc/{self.pid}/status")

    def reset_peak_rss(self) -> None:
        """Start VmHWM again from the current RSS (Linux: clear_refs 5)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def client(self) -> Client:
        return Client(self.port, self.tls.client_context())

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics: (name, sorted labels) -> value."""
        with self.client() as client:
            answer = client.get("/metrics")
        assert answer.status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def stop(self, signum: int = signal.SIGTERM, deadline: float = DEADLINE) -> int:
        """Send `signum` and wait for the exit code (SIGKILL after `deadline`)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(deadline)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(deadline)
                raise AssertionError(
                    f"the server did not exit within {deadline} s of signal {signum}"
                ) from None
        return self.process.returncode


def serve_command(tls: TlsFiles, policy: Path, *flags: str) -> list[str]:
    return [
        sys.executable, "-m", "webhook", "serve",
        "--policy", str(policy),
        "--tls-cert", str(tls.cert),
        "--tls-key", str(tls.key),
        "--host", "127.0.0.1",
        "--port", "0",
        "--workers", "1",
        *flags,
    ]  # fmt: skip


@contextlib.contextmanager
def webhook_process(
    workdir: Path,
    tls: TlsFiles,
    *flags: str,
    policy: Path = EXAMPLE_POLICY,
    memory_limit: int = MEMORY_LIMIT,
) -> Iterator[WebhookProcess]:
    """`egress-webhook serve` with `flags`, started and ready; killed on the way out."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"serve-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_command(tls, policy, *flags),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    # set from outside (no preexec_fn): long before the server has read a request
    resource.prlimit(process.pid, resource.RLIMIT_AS, (memory_limit, memory_limit))
    server = WebhookProcess(process, log_path, tls)
    try:
        server.port = int(server.wait_for_log("listening")["port"])
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(DEADLINE)


class Client(contextlib.AbstractContextManager["Client"]):
    """A keep-alive HTTPS client that writes a request whole, then reads (http.client)."""

    def __init__(self, port: int, context: ssl.SSLContext, timeout: float = DEADLINE) -> None:
        self.port = port
        self.context = context
        self.timeout = timeout
        self.connection: http.client.HTTPSConnection | None = None

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.context, timeout=self.timeout
            )
        return self.connection

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Answer:
        headers = {"Content-Type": content_type} if content_type else {}
        reused = self.connection is not None
        try:
            return self._exchange(method, path, body, headers)
        except (ConnectionError, http.client.RemoteDisconnected):
            self.close()
            if not reused:
                raise
            # the server closed a kept-alive connection meanwhile: once more, on a new one
            return self._exchange(method, path, body, headers)

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> Answer:
        connection = self._connection()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.will_close:
            self.close()
        return Answer(response.status, response.getheader("Content-Type") or "", data)

    def post(self, body: bytes, content_type: str = "application/json") -> Answer:
        return self.request("POST", "/validate", body, content_type)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)
