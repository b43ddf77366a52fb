"""wrk (C, Debian's `wrk` package) as the load generator of the multi-worker scaling run.

The Python load generator (bench.load) needs most of a core to drive one worker, so on
a 2-core machine a second worker has nothing left to run on. wrk drives 11,000 reviews/s
with a quarter of a core, and what `serve --workers 2` gains shows. It does not check
verdicts (the request-path run does, on the same bodies): a response other than 2xx or
3xx, or a socket error, counts as an error. Bounded: wrk stops after its duration, and
every request times out after REQUEST_TIMEOUT.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

from bench.load import REQUEST_TIMEOUT, LoadResult, cpu_seconds_of
from bench.servers import Server

#: POSTs the bodies of a file (one JSON document a line, named by WRK_CASES) in turn.
SCRIPT = Path(__file__).with_name("wrk_cases.lua")
#: What to install when wrk is missing.
INSTALL = "apt-get install wrk (Debian, Ubuntu) or brew install wrk"

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def find_wrk() -> str | None:
    """wrk's path, or None when it is not installed."""
    return shutil.which("wrk")


def write_bodies(path: Path, bodies: list[bytes]) -> Path:
    """The file wrk's script reads: one body a line."""
    path.write_bytes(b"".join(body.replace(b"\n", b"") + b"\n" for body in bodies))
    return path


def run_wrk(
    wrk: str, server: Server, bodies: Path, *, concurrency: int, seconds: float, warmup: float
) -> LoadResult:
    """One wrk run against `server` (after `warmup` seconds of the same); its figures.

    Both durations are whole seconds (wrk_seconds), and the figures are per those.
    """
    seconds = wrk_seconds(seconds)
    if warmup > 0:
        _wrk(wrk, server, bodies, concurrency, warmup)
    server_cpu = cpu_seconds_of(server.pid)
    client = os.times()
    out = _wrk(wrk, server, bodies, concurrency, seconds)
    client_after = os.times()
    server_after = cpu_seconds_of(server.pid)
    return parse_output(
        out,
        seconds=seconds,
        client_cpu=(client_after.children_user + client_after.children_system
                    - client.children_user - client.children_system) / seconds,
        server_cpu=None if server_cpu is None or server_after is None
        else server_after - server_cpu,
    )  # fmt: skip


def wrk_seconds(seconds: float) -> int:
    """wrk takes whole seconds only ("0.5s" is a usage error): rounded up, at least 1."""
    return max(1, math.ceil(seconds))


def _wrk(wrk: str, server: Server, bodies: Path, concurrency: int, seconds: float) -> str:
    argv = [wrk, "--latency", "--threads", "1", "--connections", str(concurrency),
            "--duration", f"{wrk_seconds(seconds)}s", "--timeout", f"{REQUEST_TIMEOUT:g}s",
            "--script", str(SCRIPT), server.url]  # fmt: skip
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, "WRK_CASES": str(bodies)},
        timeout=seconds + 60,
        check=False,
    )
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise RuntimeError(f"wrk failed against {server.name}:\n{done.stdout}{done.stderr}")
    return done.stdout


def parse_output(
    out: str, *, seconds: float, client_cpu: float, server_cpu: float | None
) -> LoadResult:
    """wrk's report (with --latency) as a LoadResult; server_cpu: its CPU seconds meanwhile."""
    requests = int(_find(r"(\d+) requests in", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    ok = max(requests - errors, 0)
    return LoadResult(
        requests=ok,
        errors=errors,
        wrong_verdicts=0,
        seconds=seconds,
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_latency(_find(r"\s50%\s+([\d.]+\w+)", out)),
        p90_ms=_latency(_find(r"\s90%\s+([\d.]+\w+)", out)),
        p99_ms=_latency(_find(r"\s99%\s+([\d.]+\w+)", out)),
        max_ms=_latency(_find(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)", out)),
        client_cpu=client_cpu,
        server_cpu_us_per_request=None if server_cpu is None or not ok
        else server_cpu / ok * 1e6,
        first_error=f"{errors} responses not 2xx/3xx or socket errors" if errors else None,
    )  # fmt: skip


def _find(pattern: str, out: str) -> str:
    found = re.search(pattern, out)
    if found is None:
        raise RuntimeError(f"wrk's report has no {pattern!r}:\n{out}")
    return found.group(1)


def _latency(text: str) -> float:
    """A wrk duration ("850.00us", "1.39ms", "1.02s") in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]
