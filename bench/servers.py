"""The servers under test as child processes on 127.0.0.1: started, probed, always stopped."""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BUILD_OPA = ROOT / "bench" / "build-opa.sh"
REGO = ROOT / "bench" / "opa" / "egress.rego"
#: The Rego rule OPA answers POST / with (kube-mgmt style: the body is the input).
OPA_DECISION = "egress/admission/main"

#: Start-up and shutdown waits; a server slower than this has failed.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the bench dies without cleaning up (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One running server process and how to reach it."""

    name: str
    url: str
    health_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server's output, for error messages."""
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, wait for the drain, SIGKILL if it hangs; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.log_file.close()
        return self.process.returncode


class ServerStartError(RuntimeError):
    """A server under test did not come up; the message carries its log."""


class Servers(contextlib.AbstractContextManager["Servers"]):
    """Every server started through it is stopped on exit, on error and on Ctrl-C too."""

    def __init__(self, workdir: Path, ca: Path, cert: Path, key: Path) -> None:
        self.workdir = workdir
        self.ca = ca
        self.cert = cert
        self.key = key
        self.running: list[Server] = []
        self._client = ssl.create_default_context(cafile=str(ca))

    def __exit__(self, *exc: object) -> None:
        # Stop in reverse order of start; a failure to stop one must not leave the others.
        while self.running:
            server = self.running.pop()
            with contextlib.suppress(Exception):
                server.stop()

    def stop(self, server: Server) -> int | None:
        """Stop one server now (the others keep running)."""
        if server in self.running:
            self.running.remove(server)
        return server.stop()

    def _spawn(
        self, name: str, argv: list[str], url: str, health: str, env: dict[str, str] | None = None
    ) -> Server:
        log_path = self.workdir / f"{name}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            # Ctrl-C reaches the bench alone, which then stops the servers in order.
            start_new_session=True,
            preexec_fn=_die_with_parent,  # the bench is single-threaded: no fork hazard
        )
        server = Server(name, url, health, process, log_path, log_file)
        self.running.append(server)
        self._wait_ready(server)
        return server

    def _wait_ready(self, server: Server) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerStartError(
                    f"{server.name} exited with code {server.process.returncode} while "
                    f"starting:\n{server.log_tail()}"
                )
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own https URL
                    server.health_url, context=self._client, timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ServerStartError(
            f"{server.name} did not answer {server.health_url} within {START_TIMEOUT:.0f} s "
            f"({last}):\n{server.log_tail()}"
        )

    def start_ours(
        self,
        policy: Path,
        *,
        profile: Path | None = None,
        workers: int = 1,
        extra: tuple[str, ...] = (),
    ) -> Server:
        """The production `egress-webhook serve` (create_app, TLS, JSON decision log);
        `extra` are more `serve` flags."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.ours"]
        if profile is not None:
            argv += ["--profile", str(profile)]
        argv += [
            "--",
            "serve",
            "--policy", str(policy),
            "--tls-cert", str(self.cert),
            "--tls-key", str(self.key),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", str(workers),
            *extra,
        ]  # fmt: skip
        base = f"https://127.0.0.1:{port}"
        # /readyz: with workers, ready once every one listens, so that the load's
        # keep-alive connections are spread over all of them
        return self._spawn(
            "ours-profiled" if profile else f"ours-{workers}w",
            argv,
            f"{base}/validate",
            f"{base}/readyz",
        )

    def wait_for_policy(self, server: Server, sha256: str, timeout: float = 60.0) -> float:
        """Poll /readyz until `sha256` is the serving policy; the time (time.time()) it was.

        One kept-alive connection, asked every 50 ms: a new TLS handshake per poll would
        be load of its own on the server being measured.
        """
        url = urllib.parse.urlsplit(server.health_url)
        connection = http.client.HTTPSConnection(
            url.hostname or "127.0.0.1", url.port, context=self._client, timeout=2
        )
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    connection.request("GET", "/readyz")
                    serving = json.load(connection.getresponse())["policy"]["sha256"]
                except (OSError, http.client.HTTPException, ValueError, KeyError):
                    connection.close()  # reconnects on the next request
                else:
                    if serving == sha256:
                        return time.time()
                time.sleep(0.05)
        finally:
            connection.close()
        raise ServerStartError(
            f"{server.name} did not serve policy {sha256[:12]} within {timeout:.0f} s"
        )

    def start_bare(self) -> Server:
        """The bare-transport baseline (bench/bare.py)."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.bare", "--tls-cert", str(self.cert),
                "--tls-key", str(self.key), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        base = f"https://127.0.0.1:{port}"
        return self._spawn("bare", argv, f"{base}/validate", f"{base}/healthz")

    def start_opa(self, opa: Path, data: dict[str, object]) -> Server:
        """`opa run --server` with TLS, bench/opa/egress.rego and the policy as data.

        The API server's AdmissionReview is POSTed to / as is and OPA answers with the
        value of the default decision, so OPA sees exactly the bytes we see.
        """
        port = free_port()
        data_path = self.workdir / "opa-data" / "data.json"
        data_path.parent.mkdir(exist_ok=True)
        data_path.write_text(json.dumps({"egress_policy": data}))
        argv = [
            str(opa), "run", "--server",
            "--addr", f"127.0.0.1:{port}",
            "--tls-cert-file", str(self.cert),
            "--tls-private-key-file", str(self.key),
            "--log-level", "error",
            "--disable-telemetry",
            "--set", f"default_decision=/{OPA_DECISION}",
            str(REGO), str(data_path),
        ]  # fmt: skip
        base = f"https://127.0.0.1:{port}"
        return self._spawn("opa", argv, f"{base}/", f"{base}/health")


def build_opa() -> tuple[Path | None, str]:
    """Build (or find cached) opa with bench/build-opa.sh: (path, version) or (None, why)."""
    result = subprocess.run(
        ["bash", str(BUILD_OPA)], capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode != 0:
        return None, (result.stderr.strip() or result.stdout.strip())[-2000:]
    path = Path(result.stdout.strip().splitlines()[-1])
    version = subprocess.run(
        [str(path), "version"], capture_output=True, text=True, check=False, timeout=30
    )
    first = version.stdout.splitlines()[0] if version.stdout else "unknown version"
    return path, first.removeprefix("Version: ").strip()
