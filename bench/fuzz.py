"""`python -m bench.fuzz`: the fuzz corpus at scale against the real `egress-webhook serve`.

    python -m bench.fuzz --requests 1000000 [--seed 1] [--clients N] [--max-seconds 7200]

Sends generated and mutated AdmissionReviews (tests/fuzz/corpus.py: the inputs the
test suite draws, here from fresh seeds) over HTTPS keep-alive to the production
server on 127.0.0.1, from `--clients` processes, and reports: requests, answers by
HTTP status, 5xx (with their causes, from the server's log), wrong answers (not a
review for the request's uid, not a 4xx metav1.Status), crashes (the server process
exited, or answered nothing for 40 s and was killed: it is restarted and the run goes
on) and the server's peak RSS (VmHWM). The server runs under an address-space limit
(--memory-limit-mib), so that an input that makes it allocate without bound shows as a
MemoryError 5xx rather than exhausting the machine.

Bounded: it stops at --requests or after --max-seconds, whichever comes first, and
every request has a timeout. The first inputs that got a 5xx or a wrong answer are
saved under --out for replay. Exit 0 only with no 5xx, no wrong answer and no crash.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import multiprocessing
import os
import queue
import resource
import signal
import ssl
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bench.servers import Server, Servers
from bench.workload import EXAMPLE_POLICY
from tests.fuzz.corpus import problems_with, random_inputs
from tests.server_process import Client
from webhook.certs import write_bundle

#: No single request may take longer; a stuck server fails the run.
REQUEST_TIMEOUT = 30.0
#: No request answered for this long: the server is hung (killed and restarted).
HUNG_AFTER = REQUEST_TIMEOUT + 10
#: Inputs kept per kind of failure, for replay.
SAMPLES = 5


def _status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def _worker(
    index: int,
    seed: int,
    quota: int,
    port: Synchronized[int],
    ca: str,
    sent: Synchronized[int],
    stop: Any,
    results: Any,
) -> None:
    """One client process: `quota` inputs from `seed`, one keep-alive connection."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    context = ssl.create_default_context(cafile=ca)
    next_input = random_inputs(seed * 1000 + index)
    tally: collections.Counter[str] = collections.Counter()
    samples: dict[str, list[str]] = {}
    client: Client | None = None
    done = 0
    while done < quota and not stop.is_set():
        body = next_input()
        if client is None:
            client = Client(port.value, context, timeout=REQUEST_TIMEOUT)
        try:
            answer = client.post(body)
        except (OSError, http.client.HTTPException) as exc:
            # the server is gone (a crash: the parent restarts it) or stuck: keep the
            # input, it may be the one that did it
            tally["connection errors"] += 1
            kept = samples.setdefault(f"connection error: {type(exc).__name__}", [])
            if len(kept) < SAMPLES:
                kept.append(body.decode("utf-8", "backslashreplace"))
            client.close()
            client = None
            time.sleep(0.1)
            continue
        done += 1
        tally[f"HTTP {answer.status}"] += 1
        for problem in problems_with(answer, body):
            kind = "5xx" if answer.status >= 500 else "wrong answers"
            tally[kind] += 1
            kept = samples.setdefault(f"{kind}: {problem[:100]}", [])
            if len(kept) < SAMPLES:
                kept.append(body.decode("utf-8", "backslashreplace"))
        if done % 50 == 0:
            with sent.get_lock():
                sent.value += 50
    if client is not None:
        client.close()
    with sent.get_lock():
        sent.value += done % 50
    results.put((dict(tally), samples))


def _bug_causes(log_path: Path) -> collections.Counter[str]:
    """The server's logged bugs, by where they were raised and what was raised."""
    causes: collections.Counter[str] = collections.Counter()
    with contextlib.suppress(OSError):
        for raw in log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if line.get("event") == "internal_error":
                    trace = str(line.get("traceback", "")).strip().splitlines()
                    frames = [t.strip() for t in trace if t.strip().startswith("File ")]
                    where = frames[-1].replace(str(Path.cwd()) + "/", "") if frames else "?"
                    causes[f"{trace[-1] if trace else '?'}  ({where})"] += 1
    return causes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=100_000, help="default %(default)s")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="default: now")
    parser.add_argument(
        "--clients",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="client processes (default: one fewer than the cores, at least 1)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=7200, help="stop after this (default %(default)s)"
    )
    parser.add_argument(
        "--memory-limit-mib",
        type=int,
        default=4096,
        help="the server's address-space limit (RLIMIT_AS), so that an input that makes it "
        "allocate without bound is a MemoryError (a 5xx), not an exhausted machine "
        "(default %(default)s)",
    )
    parser.add_argument("--out", type=Path, help="folder for failing inputs (default: a tmp dir)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(
        f"fuzzing POST /validate of egress-webhook serve: {args.requests:,} requests from "
        f"{args.clients} client process(es), seed {args.seed}, at most {args.max_seconds:.0f} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="egress-fuzz-") as tmp:
        workdir = Path(tmp)
        bundle = write_bundle(workdir / "certs")
        with Servers(workdir, bundle.ca_path, bundle.cert_path, bundle.key_path) as servers:
            report = _run(args, servers, bundle.ca_path, started)
    return report


def _start(args: argparse.Namespace, servers: Servers) -> Server:
    server = servers.start_ours(EXAMPLE_POLICY)
    limit = args.memory_limit_mib * 1024 * 1024
    resource.prlimit(server.pid, resource.RLIMIT_AS, (limit, limit))
    return server


def _run(args: argparse.Namespace, servers: Servers, ca: Path, started: float) -> int:
    context = multiprocessing.get_context("spawn")
    server = _start(args, servers)
    port = context.Value("i", int(server.url.rsplit(":", 1)[1].split("/")[0]))
    sent = context.Value("q", 0)
    stop = context.Event()
    results = context.Queue()
    quota = [args.requests // args.clients + (i < args.requests % args.clients)
             for i in range(args.clients)]  # fmt: skip
    workers = [
        context.Process(
            target=_worker, args=(i, args.seed, quota[i], port, str(ca), sent, stop, results)
        )
        for i in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    crashes: list[str] = []
    bug_causes: collections.Counter[str] = collections.Counter()
    peak_kb = 0
    deadline = started + args.max_seconds
    last_report = time.monotonic()
    progress = (0, time.monotonic())
    collected: list[tuple[dict[str, int], dict[str, list[str]]]] = []
    try:
        while len(collected) < len(workers):
            with contextlib.suppress(queue.Empty):
                collected.append(results.get(timeout=0.5))
                continue
            peak_kb = max(peak_kb, _status_kb(server.pid, "VmHWM"))
            now = time.monotonic()
            if sent.value != progress[0]:
                progress = (sent.value, now)
            hung = now - progress[1] > HUNG_AFTER
            if hung:
                print(f"!! no answer for {HUNG_AFTER:.0f} s: killing the server", flush=True)
                server.process.kill()
                server.process.wait()
            if server.process.poll() is not None:
                why = "hung, killed" if hung else f"exit code {server.process.returncode}"
                crashes.append(f"{why}:\n{server.log_tail()}")
                print(f"!! the server is down ({why}); restarting", flush=True)
                bug_causes += _bug_causes(server.log_path)
                servers.stop(server)
                server = _start(args, servers)
                port.value = int(server.url.rsplit(":", 1)[1].split("/")[0])
                progress = (sent.value, time.monotonic())
            if now > deadline and not stop.is_set():
                print(f"-- {args.max_seconds:.0f} s reached: stopping", flush=True)
                stop.set()
            if now - last_report >= 10:
                last_report = now
                print(
                    f"   {sent.value:>10,} requests  {sent.value / (now - started):6.0f}/s  "
                    f"server RSS {_status_kb(server.pid, 'VmRSS') / 1024:.0f} MiB  "
                    f"(peak {peak_kb / 1024:.0f} MiB)",
                    flush=True,
                )
    finally:
        stop.set()
        for worker in workers:
            worker.join(REQUEST_TIMEOUT + 5)
            if worker.is_alive():
                worker.kill()
    peak_kb = max(peak_kb, _status_kb(server.pid, "VmHWM"))
    bug_causes += _bug_causes(server.log_path)
    code = servers.stop(server)
    if code != 0:
        crashes.append(f"SIGTERM exit code {code} (expected 0):\n{server.log_tail()}")
    return _report(args, collected, crashes, bug_causes, peak_kb, started)


def _report(
    args: argparse.Namespace,
    collected: list[tuple[dict[str, int], dict[str, list[str]]]],
    crashes: list[str],
    bug_causes: collections.Counter[str],
    peak_kb: int,
    started: float,
) -> int:
    tally: collections.Counter[str] = collections.Counter()
    samples: dict[str, list[str]] = {}
    for counts, kept in collected:
        tally.update(counts)
        for key, bodies in kept.items():
            samples.setdefault(key, []).extend(bodies[: SAMPLES - len(samples.get(key, []))])
    elapsed = time.monotonic() - started
    requests = sum(v for k, v in tally.items() if k.startswith("HTTP "))
    print(f"\nrequests answered   {requests:,} in {elapsed:.0f} s ({requests / elapsed:.0f}/s)")
    for key in sorted(k for k in tally if k.startswith("HTTP ")):
        print(f"  {key:<18}{tally[key]:>12,}")
    print(f"5xx                 {tally['5xx']:,}")
    print(f"wrong answers       {tally['wrong answers']:,}")
    print(f"connection errors   {tally['connection errors']:,}")
    print(f"crashes             {len(crashes)}")
    print(f"server peak RSS     {peak_kb / 1024:.1f} MiB (VmHWM)")
    for cause, count in bug_causes.most_common():
        print(f"  5xx cause x{count}: {cause}")
    for crash in crashes:
        print(f"  crash: {crash}")
    if samples:
        out: Path = args.out or Path(tempfile.mkdtemp(prefix="egress-fuzz-failures-"))
        out.mkdir(parents=True, exist_ok=True)
        for number, (key, bodies) in enumerate(sorted(samples.items())):
            for copy, body in enumerate(bodies):
                (out / f"{number:03d}-{copy}.json").write_text(body)
            print(f"  [{number:03d}] {key}")
        print(f"failing inputs (replay: curl --data-binary @FILE ...): {out}")
    failed = tally["5xx"] or tally["wrong answers"] or tally["connection errors"] or crashes
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: the server was stopped", file=sys.stderr)
        sys.exit(130)
