"""`serve --workers N`: N full server processes on one port (SO_REUSEPORT), one supervisor.

Each worker is the single-process server (create_app, its own reload loop, its own
drain), started as `python -m webhook.server.workers` with the validated settings; the
kernel spreads new connections over the workers' listening sockets. The supervisor
only starts them, forwards SIGTERM/SIGINT (each worker drains its own requests), and
stops them all if one dies: Kubernetes then restarts the container, as it would a
single-process server that crashed.

Metrics: every worker keeps its own registry and serves it on a Unix socket in a
private directory; whichever worker answers GET /metrics on the port asks the others and
returns every series with a `worker` label (sum by (...) in PromQL for the pod). This
is simpler than prometheus_client's multiprocess mode, which cannot express gauges
cleared on reload (egress_webhook_policy_info) or computed at scrape time (in-flight
requests) and drops the process collectors.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from webhook.errors import ExitCode
from webhook.settings import Settings

#: The supervisor gives the workers their own drain time plus this before SIGKILL.
_STOP_MARGIN = 5.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Worker:
    """Which worker this process is, and where its siblings' metrics sockets are."""

    index: int
    count: int
    folder: Path

    def socket_path(self, index: int) -> Path:
        return self.folder / f"worker-{index}.sock"


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, lowered to the cgroup's cpu.max quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    return max(1, cpus)


def die_with_parent() -> None:
    """SIGTERM to this process when its parent dies, so that it never outlives it (Linux).

    Called in a worker (between fork and exec) and by the policy reader, first thing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _reserve_port(host: str) -> socket.socket:
    """A bound (never listening) SO_REUSEPORT socket holding a free port for the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, 0))
    return sock


def supervise(settings: Settings, workers: int) -> ExitCode:
    """Run `workers` worker processes until SIGTERM/SIGINT; the exit code of the pod."""
    reserved = _reserve_port(settings.host) if settings.port == 0 else None
    if reserved is not None:
        settings = settings.model_copy(update={"port": reserved.getsockname()[1]})
    stop = {"signal": 0}

    def forward(signum: int, _frame: object) -> None:
        stop["signal"] = signum
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)

    processes: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    with tempfile.TemporaryDirectory(prefix="egress-webhook-workers-") as folder:
        for index in range(workers):
            argv = [sys.executable, "-m", "webhook.server.workers", "--index", str(index),
                    "--count", str(workers), "--folder", folder,
                    "--settings", settings.model_dump_json()]  # fmt: skip
            # our own module and settings; the supervisor has started no thread
            processes.append(subprocess.Popen(argv, preexec_fn=die_with_parent))
        code = _wait(processes, stop, settings.shutdown_timeout + _STOP_MARGIN)
    if reserved is not None:
        reserved.close()
    return code


def _wait(processes: list[subprocess.Popen[bytes]], stop: dict[str, int], grace: float) -> ExitCode:
    """Until every worker has exited; the first to die unasked stops the others."""
    failed = False
    while True:
        pids = {p.pid: p for p in processes if p.returncode is None}
        if not pids:
            break
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            continue
        process = pids.get(pid)
        if process is None:
            continue
        process.returncode = os.waitstatus_to_exitcode(status)
        if not stop["signal"] and not failed:
            failed = True
            for other in processes:
                if other.returncode is None:
                    other.send_signal(signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
        if process.returncode is None:
            process.kill()
            process.wait()
    codes = {p.returncode for p in processes}
    if failed:
        return ExitCode.ERROR if ExitCode.DENIED not in codes else ExitCode.DENIED
    return ExitCode.OK if codes <= {0} else ExitCode.ERROR


def main(argv: list[str] | None = None) -> int:
    """One worker: the ordinary server, sharing the port, with its metrics socket."""
    from webhook.server.app import serve

    parser = argparse.ArgumentParser(prog="python -m webhook.server.workers")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--settings", required=True)
    args = parser.parse_args(argv)
    settings = Settings.model_validate_json(args.settings)
    return int(serve(settings, Worker(args.index, args.count, args.folder)))


if __name__ == "__main__":
    sys.exit(main())
