"""Load generator: POSTs AdmissionReviews over HTTPS keep-alive at a fixed concurrency.

Run as its own process so it never shares an event loop (or a core's time slice)
with the server it measures:

    python -m bench.load --url https://127.0.0.1:PORT/validate --ca ca.crt \
        --cases cases.json --concurrency 8 --duration 5 --max-requests 50000

`cases.json` is a list of ``{"label", "body", "allowed"}`` (``allowed`` null: do not
check the verdict). Requests cycle through the cases. Every response must be HTTP 200
with an AdmissionReview whose uid echoes the request's and, when given, whose
``allowed`` is the expected one; anything else counts as an error, never as a request
served. Prints one JSON object with the figures on stdout.

Bounded: the run stops at --duration seconds (after --warmup) or --max-requests,
whichever comes first, and every request has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

#: No single request may take longer than this; a stuck server fails the run.
REQUEST_TIMEOUT = 10.0


@dataclass
class Tally:
    """What the workers saw in the measured window."""

    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    wrong_verdicts: int = 0
    first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what


@dataclass(frozen=True)
class LoadResult:
    """The figures of one load run (what the bench table is made of)."""

    requests: int
    errors: int
    wrong_verdicts: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    client_cpu: float  # CPU seconds of this process per wall second (1.0 = a full core)
    server_cpu_us_per_request: float | None  # the server process's CPU time per request
    first_error: str | None


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` and its descendants (all threads), from /proc.

    `serve --workers N` is a supervisor and N worker processes: the server is all of them.
    A descendant that exits during the run takes its seconds with it (none do here).
    """
    total = _own_cpu_seconds(pid)
    if total is None:
        return None
    for child in children(pid):
        total += cpu_seconds_of(child) or 0.0
    return total


def _own_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces: fields start after its closing parenthesis
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The process ids of `pid`'s children (Linux /proc)."""
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return children


def _quantile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index] / 1e6


def _check(payload: Any, expected_uid: str, expected_allowed: bool | None) -> str | None:
    """Why a response body is not the AdmissionReview we expect, or None."""
    if not isinstance(payload, dict):
        return f"the body is not a JSON object: {str(payload)[:120]}"
    response = payload.get("response")
    if payload.get("kind") != "AdmissionReview" or not isinstance(response, dict):
        return f"not an AdmissionReview: {json.dumps(payload)[:200]}"
    if response.get("uid") != expected_uid:
        return f"uid {response.get('uid')!r} does not echo {expected_uid!r}"
    if expected_allowed is not None and response.get("allowed") is not expected_allowed:
        return f"allowed={response.get('allowed')!r}, expected {expected_allowed}"
    return None


async def run_load(
    url: str,
    cases: list[dict[str, Any]],
    *,
    ssl_context: ssl.SSLContext,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
    server_pid: int | None = None,
) -> LoadResult:
    """Drive `url` with `concurrency` workers; measure after `warmup` seconds."""
    bodies = [
        (
            case["body"].encode() if isinstance(case["body"], str) else case["body"],
            json.loads(case["body"])["request"]["uid"],
            case.get("allowed"),
        )
        for case in cases
    ]
    tally = Tally()
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + duration
    issued = 0
    measured = 0
    cpu_marks: dict[str, tuple[float, float | None]] = {}

    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(offset: int) -> None:
            nonlocal issued, measured
            index = offset
            while True:
                now = time.perf_counter()
                if now >= stop_at or measured >= max_requests:
                    return
                if "start" not in cpu_marks and now >= measure_from:
                    cpu_marks["start"] = (
                        time.process_time(),
                        cpu_seconds_of(server_pid) if server_pid else None,
                    )
                body, uid, expected = bodies[index % len(bodies)]
                index += 1
                issued += 1
                in_window = now >= measure_from
                if in_window:
                    measured += 1
                begun = time.perf_counter_ns()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        raw = await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    if in_window:
                        tally.error(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter_ns() - begun
                if not in_window:
                    continue
                if status != 200:
                    tally.error(f"HTTP {status}: {raw[:200]!r}")
                    continue
                try:
                    problem = _check(json.loads(raw), uid, expected)
                except ValueError:
                    problem = f"the body is not JSON: {raw[:120]!r}"
                if problem is not None:
                    if problem.startswith("allowed="):
                        tally.wrong_verdicts += 1
                    tally.error(problem)
                    continue
                tally.latencies_ns.append(elapsed)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    ended = time.perf_counter()
    cpu_end = (time.process_time(), cpu_seconds_of(server_pid) if server_pid else None)
    window = max(1e-9, ended - max(measure_from, started))
    client_cpu0, server_cpu0 = cpu_marks.get("start", cpu_end)
    ok = len(tally.latencies_ns)
    server_cpu = None
    if server_cpu0 is not None and cpu_end[1] is not None and ok:
        server_cpu = (cpu_end[1] - server_cpu0) / ok * 1e6
    latencies = sorted(tally.latencies_ns)
    return LoadResult(
        requests=ok,
        errors=tally.errors,
        wrong_verdicts=tally.wrong_verdicts,
        seconds=window,
        rps=ok / window,
        p50_ms=_quantile(latencies, 0.50),
        p90_ms=_quantile(latencies, 0.90),
        p99_ms=_quantile(latencies, 0.99),
        max_ms=latencies[-1] / 1e6 if latencies else float("nan"),
        client_cpu=(cpu_end[0] - client_cpu0) / window,
        server_cpu_us_per_request=server_cpu,
        first_error=tally.first_error,
    )


async def run_open_loop(
    url: str,
    cases: list[dict[str, Any]],
    *,
    ssl_context: ssl.SSLContext,
    rate: float,
    duration: float,
    connections: int = 64,
    timeline: list[tuple[float, float | None]] | None = None,
) -> LoadResult:
    """Send `rate` reviews a second on a fixed schedule for `duration` s, answered or not.

    Open loop: a slow answer does not delay the next request, and each latency is taken
    from the request's scheduled time, so waiting for a free connection counts too (no
    coordinated omission). Bounded: nothing is sent after `duration`, and every request
    has its timeout. `timeline`, when given, receives every request's scheduled send
    (Unix time) and latency in ms (None: failed).
    """
    bodies = [
        (case["body"].encode(), json.loads(case["body"])["request"]["uid"], case.get("allowed"))
        for case in cases
    ]
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=connections, ssl=ssl_context)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    cpu0 = time.process_time()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(due_ns: int, index: int) -> None:
            body, uid, expected = bodies[index % len(bodies)]
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally.error(f"{type(exc).__name__}: {exc}")
                return
            elapsed = time.perf_counter_ns() - due_ns
            problem = f"HTTP {status}" if status != 200 else _check(json.loads(raw), uid, expected)
            if problem is not None:
                if problem.startswith("allowed="):
                    tally.wrong_verdicts += 1
                tally.error(problem)
                return
            tally.latencies_ns.append(elapsed)
            sent[index] = elapsed / 1e6

        tasks: list[asyncio.Task[None]] = []
        start_ns = time.perf_counter_ns()
        start_wall = time.time()
        total = int(rate * duration)
        sent: list[float | None] = [None] * total
        for index in range(total):
            due = start_ns + int(index * 1e9 / rate)
            delay = (due - time.perf_counter_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, index)))
        await asyncio.gather(*tasks)
    window = (time.perf_counter_ns() - start_ns) / 1e9
    if timeline is not None:
        timeline.extend((start_wall + i / rate, ms) for i, ms in enumerate(sent))
    latencies = sorted(tally.latencies_ns)
    return LoadResult(
        requests=len(latencies),
        errors=tally.errors,
        wrong_verdicts=tally.wrong_verdicts,
        seconds=window,
        rps=len(latencies) / window,
        p50_ms=_quantile(latencies, 0.50),
        p90_ms=_quantile(latencies, 0.90),
        p99_ms=_quantile(latencies, 0.99),
        max_ms=latencies[-1] / 1e6 if latencies else float("nan"),
        client_cpu=(time.process_time() - cpu0) / window,
        server_cpu_us_per_request=None,
        first_error=tally.first_error,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: run one load, print its LoadResult as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True, type=Path, help="CA certificate to verify with")
    parser.add_argument("--cases", required=True, type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--server-pid", type=int, help="report this process's CPU per request")
    parser.add_argument(
        "--rate", type=float, help="open loop: reviews per second on a schedule (no --concurrency)"
    )
    parser.add_argument(
        "--timeline", type=Path, help="open loop: write each request's send time and latency here"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be between 1 and 256")
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 30:
        parser.error("--duration must be in (0, 120] and --warmup in [0, 30] seconds")
    context = ssl.create_default_context(cafile=str(args.ca))
    cases = json.loads(args.cases.read_text())
    if args.rate is not None:
        if not 0 < args.rate <= 5000:
            parser.error("--rate must be in (0, 5000] reviews per second")
        timeline: list[tuple[float, float | None]] = []
        opened = asyncio.run(
            run_open_loop(
                args.url,
                cases,
                ssl_context=context,
                rate=args.rate,
                duration=args.duration,
                timeline=timeline,
            )
        )
        if args.timeline is not None:
            args.timeline.write_text(json.dumps(timeline))
        json.dump(asdict(opened), sys.stdout)
        sys.stdout.write("\n")
        return 0
    result = asyncio.run(
        run_load(
            args.url,
            cases,
            ssl_context=context,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            max_requests=args.max_requests,
            server_pid=args.server_pid,
        )
    )
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
