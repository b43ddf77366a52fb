"""`python -m bench`: the engine alone, the request path vs the bare transport and vs OPA.

Prints its figures as tables. Ratios are only ever taken between figures measured in
this run on this machine: the request-path targets are measured in alternating rounds
so that a noisy neighbour slows all of them rather than one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench.engine import EngineFigure, PolicyLoad, load_policies, run_engine
from bench.load import LoadResult
from bench.scale import (
    CheckerFigure,
    SizePoint,
    allowlist_curve,
    checker_speed,
    percentile,
    write_svg,
)
from bench.servers import REGO, ROOT, Server, Servers, ServerStartError, build_opa
from bench.workload import EXAMPLE_POLICY, opa_data, review_cases, sized_policy_text
from bench.wrk import INSTALL as WRK_INSTALL
from bench.wrk import find_wrk, run_wrk, write_bodies
from webhook.certs import write_bundle


@dataclass(frozen=True)
class Plan:
    """How long each part runs: --quick shortens everything, never the checks."""

    engine_seconds: float
    engine_max_calls: int
    rounds: int
    duration: float
    warmup: float
    concurrency: int
    profile_seconds: float
    rate_seconds: float = 5.0
    max_requests: int = 200_000


def plan_from(args: argparse.Namespace) -> Plan:
    if args.quick:
        plan = Plan(0.4, 20_000, 1, 3.0, 0.5, 8, 2.0, rate_seconds=2.0)
    else:
        plan = Plan(1.5, 100_000, 3, 6.0, 1.0, 8, 5.0, rate_seconds=5.0)
    return Plan(
        engine_seconds=plan.engine_seconds,
        engine_max_calls=plan.engine_max_calls,
        rounds=args.rounds or plan.rounds,
        duration=args.duration or plan.duration,
        warmup=plan.warmup,
        concurrency=args.concurrency or plan.concurrency,
        profile_seconds=plan.profile_seconds,
        rate_seconds=plan.rate_seconds,
    )


def banner(text: str) -> None:
    print(f"\n== {text}", flush=True)


def loud(text: str) -> None:
    """A problem the reader must not miss: benchmarks do not fail, they say so."""
    bar = "!" * 78
    print(f"\n{bar}\n{text}\n{bar}", flush=True)


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> None:
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


# --- 1. the engine ---------------------------------------------------------------


def print_engine(figures: list[EngineFigure], loads: list[PolicyLoad]) -> list[str]:
    table(
        ["object", "policy (entries)", "calls", "median µs", "p99 µs", "verdict", "OPA eval µs"],
        [
            [
                f.label,
                f.policy,
                str(f.calls),
                f"{f.median_us:.1f}",
                f"{f.p99_us:.1f}",
                ("allowed" if f.allowed else "denied") + ("" if f.allowed == f.expected else " !!"),
                f"{f.opa_median_us:.1f}" if f.opa_median_us is not None else "-",
            ]
            for f in figures
        ],
        right={2, 3, 4, 6},
    )
    if any(f.opa_median_us is not None for f in figures):
        print(
            "OPA eval µs: median of `opa bench` (prepared query, parsed input) on "
            "bench/opa/egress.rego, a subset of our checks"
        )
    print("policy load (parse, validate, index): " + ", ".join(
        f"{p.label} {p.entries} entries {p.ms:.0f} ms" for p in loads
    ))  # fmt: skip
    return [
        f"engine: {f.label} ({f.policy}) was {'allowed' if f.allowed else 'denied'}, "
        f"expected {'allowed' if f.expected else 'denied'}"
        for f in figures
        if f.allowed != f.expected
    ]


#: Targets of issue 12 for the engine, the policy and the checker (same run, same machine).
VS_MEDIAN_TARGET_MS = 1.0
VS_P99_TARGET_MS = 3.0
LOAD_100K_TARGET_S = 2.0
EVALUATE_SIZE_RATIO_TARGET = 1.2
CHECKER_SPEEDUP_TARGET = 10.0
CHECKER_ONE_VS_TARGET_MS = 50.0


def print_vs_figure(figures: list[EngineFigure]) -> None:
    for f in figures:
        if f.label.startswith("VirtualService") and "routes" in f.label:
            print(
                f"{f.label}: median {f.median_us / 1e3:.2f} ms (target <= {VS_MEDIAN_TARGET_MS} "
                f"ms), p99 {f.p99_us / 1e3:.2f} ms (target <= {VS_P99_TARGET_MS} ms)"
            )


def print_curve(points: list[SizePoint], svg: Path) -> list[str]:
    """The allowlist-size table, the ratios that are the claim, and where the plot went."""
    table(
        [
            "entries",
            "load s (YAML)",
            "load s (JSON)",
            "RSS +MiB",
            "SE median µs",
            "SE p99 µs",
            "VS median µs",
            "VS p99 µs",
        ],
        [
            [
                f"{p.entries:,}",
                f"{p.load_s:.2f}",
                f"{p.json_load_s:.2f}",
                f"{p.rss_mib:.0f}",
                f"{p.se_median_us:.1f}",
                f"{p.se_p99_us:.1f}",
                f"{p.vs_median_us:.1f}",
                f"{p.vs_p99_us:.1f}",
            ]
            for p in points
        ],
    )
    first, last = points[0], points[-1]
    per_entry = [p.load_s / p.entries * 1e6 for p in points if p.entries >= 1000]
    per_json = [p.json_load_s / p.entries * 1e6 for p in points if p.entries >= 1000]
    print(
        f"load per entry: YAML {', '.join(f'{v:.1f}' for v in per_entry)} µs, JSON "
        f"{', '.join(f'{v:.1f}' for v in per_json)} µs (flat = linear; target for 100,000 "
        f"entries <= {LOAD_100K_TARGET_S:.0f} s); RSS +MiB: what the process grew by "
        "(freed parse buffers included); "
        f"evaluate() at {last.entries:,} vs {first.entries:,} entries: "
        f"SE {last.se_median_us / first.se_median_us:.2f}x, "
        f"VS {last.vs_median_us / first.vs_median_us:.2f}x "
        f"(target <= {EVALUATE_SIZE_RATIO_TARGET}x)"
    )
    print(f"plot: {svg}")
    return [
        f"allowlist curve: a compliant object was denied with {p.entries} entries"
        for p in points
        if not p.verdicts_ok
    ]


def print_checker(figure: CheckerFigure) -> list[str]:
    speedup = figure.few_lines_per_s / figure.pure_lines_per_s
    print(
        f"egress-webhook check's work (read YAML, evaluate): {figure.lines:,} lines of "
        f"200-route VirtualServices at {figure.lines_per_s:,.0f} lines/s\n"
        f"the same work on three of them, alternating: {figure.few_lines_per_s:,.0f} lines/s "
        f"vs the pure-Python reader of before {figure.pure_lines_per_s:,.0f} lines/s: "
        f"{speedup:.1f}x (target >= {CHECKER_SPEEDUP_TARGET:.0f}x)\n"
        f"one 200-route VirtualService, file to verdict: median {figure.one_vs_ms:.1f} ms, "
        f"p99 {figure.one_vs_p99_ms:.1f} ms (target <= {CHECKER_ONE_VS_TARGET_MS:.0f} ms)"
    )
    return [] if figure.verdicts_ok else ["checker: a compliant VirtualService was not allowed"]


# --- 2 and 3. the request path ---------------------------------------------------


def run_load_process(server: Server, servers: Servers, cases: Path, plan: Plan) -> LoadResult:
    """One bounded load run from a separate process; its JSON result."""
    argv = [
        sys.executable, "-m", "bench.load",
        "--url", server.url,
        "--ca", str(servers.ca),
        "--cases", str(cases),
        "--concurrency", str(plan.concurrency),
        "--duration", str(plan.duration),
        "--warmup", str(plan.warmup),
        "--max-requests", str(plan.max_requests),
        "--server-pid", str(server.pid),
    ]  # fmt: skip
    limit = plan.warmup + plan.duration + 60
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed against {server.name}:\n{done.stderr}")
    return LoadResult(**json.loads(done.stdout))


#: Open-loop rates (reviews/s) of the latency-under-load run.
RATES = (100, 500, 1000)


def run_rate_process(server: Server, servers: Servers, cases: Path, rate: float,
                     seconds: float) -> LoadResult:  # fmt: skip
    """One bounded open-loop run at `rate` reviews/s from a separate process."""
    argv = [sys.executable, "-m", "bench.load", "--url", server.url, "--ca", str(servers.ca),
            "--cases", str(cases), "--rate", str(rate), "--duration", str(seconds)]  # fmt: skip
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the open-loop generator failed against {server.name}:\n{done.stderr}")
    return LoadResult(**json.loads(done.stdout))


def latency_under_load(servers: Servers, workdir: Path, plan: Plan) -> list[str]:
    """p50/p99 at fixed offered rates (open loop), one worker and two."""
    problems: list[str] = []
    cases = write_cases(workdir, check_verdicts=True)
    rows = []
    for workers in (1, 2):
        server = servers.start_ours(EXAMPLE_POLICY, workers=workers)
        # unmeasured: every worker's first requests (imports, handshakes) out of the figures
        run_rate_process(server, servers, cases, 200, 1.0)
        for rate in RATES:
            r = run_rate_process(server, servers, cases, rate, plan.rate_seconds)
            rows.append([f"{workers}", f"{rate:,}", f"{r.rps:,.0f}", f"{r.p50_ms:.2f}",
                         f"{r.p99_ms:.2f}", f"{r.max_ms:.1f}", str(r.errors)])  # fmt: skip
            if r.errors:
                problems.append(f"open loop {rate}/s, {workers} worker(s): {r.first_error}")
        servers.stop(server)
    table(["workers", "offered/s", "answered/s", "p50 ms", "p99 ms", "max ms", "errors"], rows)
    print(f"open loop: requests sent on a schedule for {plan.rate_seconds:g} s each, latency "
          "from the scheduled send (queueing included)")  # fmt: skip
    return problems


def scaling(servers: Servers, workdir: Path, plan: Plan) -> list[str]:
    """Throughput of `serve --workers 1` vs `--workers 2`, same load generator, alternating.

    The load generator is wrk when it is installed (a quarter of a core for what takes
    the Python one most of a core), else the Python one, said so.
    """
    wrk = find_wrk()
    cases = write_cases(workdir, check_verdicts=True)
    bodies = write_bodies(workdir / "wrk-bodies.jsonl", [c.body for c in review_cases()])
    wide = Plan(**{**plan.__dict__, "concurrency": max(plan.concurrency, 16)})
    results: dict[int, list[LoadResult]] = {1: [], 2: []}
    started = {w: servers.start_ours(EXAMPLE_POLICY, workers=w) for w in results}
    for _ in range(plan.rounds):
        for workers, server in started.items():
            results[workers].append(
                run_wrk(wrk, server, bodies, concurrency=wide.concurrency,
                        seconds=wide.duration, warmup=wide.warmup)
                if wrk else run_load_process(server, servers, cases, wide)
            )  # fmt: skip
    for server in started.values():
        servers.stop(server)
    print(f"load generator: {'wrk' if wrk else f'bench.load (wrk not found: {WRK_INSTALL})'}")

    def cores(r: LoadResult) -> float:
        return (r.server_cpu_us_per_request or 0.0) * r.rps / 1e6

    table(
        ["workers", "req/s", "p50 ms", "p99 ms", "server cores", "req/s per core",
         "client CPU", "errors"],
        [
            [str(w), f"{statistics.median(r.rps for r in rs):,.0f}",
             f"{statistics.median(r.p50_ms for r in rs):.2f}",
             f"{statistics.median(r.p99_ms for r in rs):.2f}",
             f"{statistics.median(cores(r) for r in rs):.2f}",
             f"{statistics.median(r.rps / max(cores(r), 1e-9) for r in rs):,.0f}",
             f"{statistics.median(r.client_cpu for r in rs):.0%}", str(sum(r.errors for r in rs))]
            for w, rs in results.items()
        ],
    )  # fmt: skip
    one = statistics.median(r.rps for r in results[1])
    two = statistics.median(r.rps for r in results[2])
    per_core = [statistics.median(r.rps / max(cores(r), 1e-9) for r in results[w]) for w in (1, 2)]
    print(f"2 workers / 1 worker: throughput {two / one:.2f}x ({wide.concurrency} in flight), "
          f"throughput per server core {per_core[1] / per_core[0]:.2f}x; the load generator "
          f"shares the machine's {os.cpu_count()} cores, so the server cannot have them all: "
          "the throughput ratio shows what it left over, the per-core ratio whether workers "
          "cost each other anything")  # fmt: skip
    errors = sum(r.errors for rs in results.values() for r in rs)
    return [f"scaling: {errors} failed or wrong responses"] if errors else []


#: The reload-under-load run: reviews/s sent on a schedule, seconds of it, and when the
#: policy file is replaced (seconds after the first review).
RELOAD_RATE = 200
#: Reloads in one run, one every RELOAD_EVERY seconds from RELOAD_AT on: a p99 of one
#: reload's few hundred reviews is its handful of slowest, mostly the machine's noise.
RELOADS = 3
RELOAD_AT = 4.0
RELOAD_EVERY = 5.0
RELOAD_RUN_SECONDS = RELOAD_AT + RELOADS * RELOAD_EVERY
#: After the new policy serves, the old one is freed (a tenth of a second at 100,000
#: entries): the reviews of this long after it count as sent during the reload.
RELOAD_TAIL = 0.5
#: Target of issue 12: p99 of the reviews sent during the reload, over p99 before it.
RELOAD_P99_TARGET = 2.0


def reload_under_load(servers: Servers, workdir: Path, entries: int) -> list[str]:
    """p50/p99 of reviews sent before and during reloads of an `entries`-entry policy.

    The server serves a policy of that size (checking the file every 0.1 s); an
    open-loop generator sends RELOAD_RATE reviews/s with a timeline of send times.
    RELOADS times, the file is replaced by renaming a copy with one comment more (same
    entries, new content) written before the run, and /readyz is polled until the new
    file's sha256 is serving. "During" a reload is from the rename to RELOAD_TAIL
    seconds after that (the old policy is freed after the new one serves); "before" is
    the time since the previous reload ended (since the first second, for the first).
    The reviews of all reloads are pooled; "after" is what follows the last.
    """
    policy = workdir / "reload-policy.yaml"
    text = sized_policy_text(entries)
    policy.write_text(text)
    server = servers.start_ours(policy, extra=("--reload-interval", "0.1"))
    cases = write_cases(workdir, check_verdicts=False)
    timeline = workdir / "reload-timeline.json"
    argv = [sys.executable, "-m", "bench.load", "--url", server.url, "--ca", str(servers.ca),
            "--cases", str(cases), "--rate", str(RELOAD_RATE),
            "--duration", str(RELOAD_RUN_SECONDS), "--timeline", str(timeline)]  # fmt: skip
    # the new files are written before the run: only the renames (atomic, as a ConfigMap
    # volume's symlink swap) fall among the reviews measured
    staged: list[tuple[Path, str]] = []
    for number in range(RELOADS):
        replaced = f"{text}# replaced by the bench ({number + 1})\n"
        path = workdir / f"reload-policy.yaml.{number + 1}"
        path.write_text(replaced)
        staged.append((path, hashlib.sha256(replaced.encode()).hexdigest()))
    reloads: list[tuple[float, float]] = []  # (written, served)
    generator = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        started = time.time()
        for number, (path, sha256) in enumerate(staged):
            # a schedule: RELOAD_AT seconds of reviews before the first reload
            time.sleep(max(0.0, started + RELOAD_AT + number * RELOAD_EVERY - time.time()))
            path.replace(policy)
            written = time.time()
            reloads.append((written, servers.wait_for_policy(server, sha256)))
        out, _ = generator.communicate(timeout=RELOAD_RUN_SECONDS + 60)
    finally:
        if generator.poll() is None:
            generator.kill()
            generator.wait()
    servers.stop(server)
    result = LoadResult(**json.loads(out))
    points = [(at, ms) for at, ms in json.loads(timeline.read_text()) if ms is not None]
    before: list[float] = []
    during: list[float] = []
    quiet_from = started + 1
    for written, served in reloads:
        ended = served + RELOAD_TAIL
        before += [ms for at, ms in points if quiet_from <= at < written]
        during += [ms for at, ms in points if written <= at <= ended]
        quiet_from = ended
    after = sorted(ms for at, ms in points if at > quiet_from)
    before.sort()
    during.sort()
    problems = [f"reload under load: {result.errors} failed reviews: {result.first_error}"] if (
        result.errors) else []  # fmt: skip
    if reloads[-1][1] + RELOAD_TAIL > started + RELOAD_RUN_SECONDS or not during:
        took = max(served - written for written, served in reloads)
        return [*problems, f"reload under load: the reloads outlasted the run ({took:.1f} s)"]
    rows = [[label, str(len(xs)), f"{percentile(xs, 0.5):.2f}", f"{percentile(xs, 0.99):.2f}",
             f"{xs[-1]:.1f}"] for label, xs in (("before", before), ("during", during),
                                                ("after", after)) if xs]  # fmt: skip
    table(["reviews sent", "count", "p50 ms", "p99 ms", "max ms"], rows)
    ratio = percentile(during, 0.99) / percentile(before, 0.99)
    took = ", ".join(f"{served - written:.2f}" for written, served in reloads)
    print(f"{RELOADS} reloads of a {entries:,}-entry YAML policy, {took} s each (file renamed "
          f"to new sha256 serving), while {RELOAD_RATE} reviews/s were sent: p99 during / "
          f"before {ratio:.2f}x (target <= {RELOAD_P99_TARGET:.0f}x)")  # fmt: skip
    return problems


def write_cases(workdir: Path, *, check_verdicts: bool) -> Path:
    path = workdir / ("cases.json" if check_verdicts else "cases-any-verdict.json")
    path.write_text(
        json.dumps(
            [
                {
                    "label": c.label,
                    "body": c.body.decode(),
                    "allowed": c.allowed if check_verdicts else None,
                }
                for c in review_cases()
            ]
        )
    )
    return path


#: A load generator this busy (a core's worth) may be what limits req/s, not the server.
CLIENT_BOUND = 0.9


def summarize(name: str, results: list[LoadResult]) -> list[str]:
    rps = statistics.median(r.rps for r in results)
    p50 = statistics.median(r.p50_ms for r in results)
    p99 = statistics.median(r.p99_ms for r in results)
    cpu = [r.server_cpu_us_per_request for r in results if r.server_cpu_us_per_request]
    errors = sum(r.errors for r in results)
    client = statistics.median(r.client_cpu for r in results)
    return [
        name,
        f"{rps:,.0f}",
        f"{p50:.2f}",
        f"{p99:.2f}",
        f"{statistics.median(cpu):.0f}" if cpu else "?",
        f"{client:.0%}" + (" (bound)" if client >= CLIENT_BOUND else ""),
        str(sum(r.requests for r in results)),
        str(errors),
    ]


def ratio_line(what: str, ours: list[LoadResult], other: list[LoadResult]) -> str:
    """ours/other of req/s, p50 and server CPU per request: medians, and per-round range."""
    per_round = [a.rps / b.rps for a, b in zip(ours, other, strict=True)]
    rps = statistics.median(r.rps for r in ours) / statistics.median(r.rps for r in other)
    p50 = statistics.median(r.p50_ms for r in ours) / statistics.median(r.p50_ms for r in other)
    cpu_a = [r.server_cpu_us_per_request for r in ours if r.server_cpu_us_per_request]
    cpu_b = [r.server_cpu_us_per_request for r in other if r.server_cpu_us_per_request]
    cpu = f"{statistics.median(cpu_a) / statistics.median(cpu_b):.2f}x" if cpu_a and cpu_b else "?"
    spread = f" (rounds {min(per_round):.2f}-{max(per_round):.2f})" if len(per_round) > 1 else ""
    return (
        f"ours/{what}: throughput {rps:.2f}x{spread}, p50 latency {p50:.2f}x, "
        f"server CPU per request {cpu}"
    )


def request_path(
    servers: Servers, workdir: Path, plan: Plan, opa: Path | None, opa_version: str
) -> tuple[dict[str, list[LoadResult]], list[str]]:
    """Start the servers, measure them in alternating rounds, print the table."""
    problems: list[str] = []
    checked = write_cases(workdir, check_verdicts=True)
    unchecked = write_cases(workdir, check_verdicts=False)
    targets: list[tuple[str, Server, Path]] = [
        ("ours (/validate)", servers.start_ours(EXAMPLE_POLICY), checked),
        ("bare transport", servers.start_bare(), unchecked),
    ]
    if opa is not None:
        try:
            targets.append(
                (f"OPA {opa_version}", servers.start_opa(opa, opa_data(_example_policy())), checked)
            )
        except ServerStartError as exc:
            problems.append(f"OPA did not start, so there is NO OPA comparison: {exc}")
            loud(problems[-1])
    results: dict[str, list[LoadResult]] = {name: [] for name, _, _ in targets}
    for round_no in range(1, plan.rounds + 1):
        for name, server, cases in targets:
            result = run_load_process(server, servers, cases, plan)
            results[name].append(result)
            print(
                f"  round {round_no}/{plan.rounds} {name:<18} {result.rps:8,.0f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                f"errors {result.errors}",
                flush=True,
            )
            if result.errors:
                problems.append(
                    f"{name}: {result.errors} failed or wrong responses "
                    f"({result.wrong_verdicts} wrong verdicts); first: {result.first_error}"
                )
    for name, server, _ in targets:
        code = servers.stop(server)
        if code not in (0, -signal.SIGTERM):
            problems.append(f"{name} exited with code {code}:\n{server.log_tail()}")
    print()
    table(
        [
            "server",
            "req/s",
            "p50 ms",
            "p99 ms",
            "server CPU µs/req",
            "client CPU",
            "requests",
            "errors",
        ],
        [summarize(name, rs) for name, rs in results.items()],
    )
    if any(statistics.median(r.client_cpu for r in rs) >= CLIENT_BOUND for rs in results.values()):
        print(
            "(bound): the load generator used a full core, so that server's req/s is a floor; "
            "compare server CPU µs/req instead"
        )
    names = list(results)
    print(ratio_line("bare", results[names[0]], results[names[1]]))
    if len(names) > 2:
        print(ratio_line("OPA", results[names[0]], results[names[2]]))
    return results, problems


def _example_policy():  # type: ignore[no-untyped-def]
    from webhook.policy.loader import load_policy

    return load_policy(EXAMPLE_POLICY)


# --- the profile ------------------------------------------------------------------

#: Work that belongs at load time: each must run at start-up (or on reload) only.
LOAD_TIME_FUNCTIONS = {
    ("loader.py", "parse_policy"): "policy parse",
    ("index.py", "__init__"): "CompiledPolicy index",
    ("tls.py", "_load"): "TLS context build",
    ("app.py", "create_app"): "create_app",
}
#: The stages of one review, in the order a request crosses them.
STAGES = [
    ("aiohttp: whole request", ("aiohttp/web_app.py", "_handle")),
    ("body: JSON decode", ("middlewares.py", "_decode")),
    ("AdmissionReview model", ("review.py", "parse_review")),
    ("engine", ("engine.py", "evaluate")),
    ("  schema (pydantic)", ("engine.py", "_parse")),
    ("  VS legs", ("routes.py", "legs_of")),
    ("  host checks", ("allowlist.py", "external_host_problem")),
    ("response: allowed()", ("review.py", "allowed")),
    ("response: denied()", ("review.py", "denied")),
    ("response: model_dump", ("review.py", "response_review")),
    ("metrics", ("metrics.py", "observe_review")),
    ("decision log (JSON)", ("logs.py", "info")),
    ("response JSON encode", ("middlewares.py", "json_response")),
]

#: Per-request functions worth counting (calls per request).
PER_REQUEST_FUNCTIONS = {
    ("engine.py", "evaluate"): "evaluate",
    ("review.py", "parse_review"): "parse_review",
    ("index.py", "allowed_hosts"): "allowed_hosts (sorts the allowlist)",
    ("hosts.py", "is_ip_literal"): "is_ip_literal",
    ("ipaddress.py", "ip_network"): "ipaddress.ip_network",
    ("logs.py", "format"): "JSON log format (logging path)",
    ("logs.py", "_dumps"): "JSON log line encode",
}


def profile(servers: Servers, workdir: Path, plan: Plan) -> list[str]:
    """Profile our server (requests only, CPU time) under the same load; print where it goes."""
    problems: list[str] = []
    out = workdir / "ours.prof"
    server = servers.start_ours(EXAMPLE_POLICY, profile=out)
    profiled_plan = Plan(**{**plan.__dict__, "duration": plan.profile_seconds, "rounds": 1})
    server.process.send_signal(signal.SIGUSR1)
    result = run_load_process(
        server, servers, write_cases(workdir, check_verdicts=True), profiled_plan
    )
    server.process.send_signal(signal.SIGUSR2)
    servers.stop(server)
    if not out.exists():
        return [f"the profiled server wrote no profile:\n{server.log_tail()}"]
    stats = pstats.Stats(str(out))
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    requests = _calls(raw, ("engine.py", "evaluate")) or 1
    total = sum(v[2] for v in raw.values()) or 1.0
    print(
        f"cProfile (CPU time) of the production server while it decided {requests} reviews: "
        f"{total / requests * 1e6:.0f} µs CPU per review under the profiler "
        f"({result.rps:,.0f} req/s, {result.errors} errors)"
    )
    print("\ntop by own time (whole process: TLS, aiohttp, asyncio, ours):")
    by_own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)
    table(
        ["function", "calls/req", "own µs/req", "own %", "cum µs/req"],
        [
            [_short(f, ln, fn), f"{c / requests:.2f}", f"{tt / requests * 1e6:.1f}",
             f"{tt / total:.1%}", f"{ct / requests * 1e6:.1f}"]
            for (f, ln, fn), (_cc, c, tt, ct, _) in by_own[:15]
        ],
    )  # fmt: skip
    print("\ntop of webhook/ by cumulative time:")
    ours = [(k, v) for k, v in raw.items() if "/webhook/" in k[0]]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    table(
        ["function", "calls/req", "cum µs/req", "cum %", "own µs/req"],
        [
            [_short(f, ln, fn), f"{c / requests:.2f}", f"{ct / requests * 1e6:.1f}",
             f"{ct / total:.1%}", f"{tt / requests * 1e6:.1f}"]
            for (f, ln, fn), (_cc, c, tt, ct, _) in ours[:15]
        ],
    )  # fmt: skip
    print("\nwhere a review's CPU goes (cumulative, nested stages overlap):")
    table(
        ["stage", "function", "cum µs/req", "of total"],
        [
            [label, f"{key[0]}:{key[1]}", f"{cum / requests * 1e6:.1f}", f"{cum / total:.1%}"]
            for label, key in STAGES
            for cum in [_cumulative(raw, key)]
        ],
        right={2, 3},
    )
    print("\nload-time work during the profiled requests (must be 0 calls):")
    rows = []
    for key, label in LOAD_TIME_FUNCTIONS.items():
        calls = _calls(raw, key)
        rows.append([label, str(calls), "ok" if calls == 0 else "PER REQUEST"])
        if calls:
            problems.append(f"profile: {label} ran {calls} times while serving requests")
    for key, label in PER_REQUEST_FUNCTIONS.items():
        rows.append([label, f"{_calls(raw, key) / requests:.2f}/req", ""])
    table(["function", "calls", ""], rows, right={1})
    return problems


def _cumulative(
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]], key: tuple[str, str]
) -> float:
    filename, func = key
    return sum(v[3] for (f, _ln, name), v in raw.items() if name == func and f.endswith(filename))


def _calls(raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]],
           key: tuple[str, str]) -> int:  # fmt: skip
    filename, func = key
    return sum(v[1] for (f, _ln, name), v in raw.items() if name == func and f.endswith(filename))


def _short(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func
    parts = Path(filename).parts
    for anchor in ("webhook", "aiohttp", "asyncio", "ssl.py", "json", "pydantic", "yarl"):
        if anchor in parts:
            filename = "/".join(parts[parts.index(anchor) :])
            break
    else:
        filename = Path(filename).name
    return f"{filename}:{line}({func})"


# --- main -------------------------------------------------------------------------


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (~40 s in all)")
    parser.add_argument("--duration", type=float, help="measured seconds per load run")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default 8)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per server")
    parser.add_argument("--no-opa", action="store_true", help="skip building and running OPA")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument(
        "--svg",
        type=Path,
        default=Path("bench-results/allowlist-curve.svg"),
        help="where the allowlist-size plot is written (default: %(default)s)",
    )
    parser.add_argument(
        "--engine-only",
        action="store_true",
        help="only the engine, allowlist-size and checker figures (no servers)",
    )
    args = parser.parse_args(argv)
    plan = plan_from(args)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    problems: list[str] = []
    print(
        f"istio-egress-webhook benchmarks ({'quick' if args.quick else 'full'}): "
        f"{plan.rounds} round(s) x {plan.duration:.0f} s per server, "
        f"concurrency {plan.concurrency}, Python {sys.version.split()[0]}"
    )
    missing: list[str] = []  # comparisons that could not be made: loud, not a failure
    opa: Path | None = None
    opa_version = ""
    if not args.no_opa:
        opa, opa_version = build_opa()
        if opa is None:
            missing.append(
                "OPA could not be built (bench/build-opa.sh), so there is NO OPA comparison:\n"
                + opa_version
            )
            loud(missing[-1])
        else:
            print(f"OPA {opa_version}: {opa}")
    with tempfile.TemporaryDirectory(prefix="egress-bench-") as tmp:
        workdir = Path(tmp)
        banner("1. engine alone: evaluate() per object (perf_counter_ns, warmed up)")
        policies, loads = load_policies(workdir)
        # `opa bench` costs a second per object: only the full run compares evaluations
        with_opa = opa if not args.quick else None
        figures = run_engine(
            policies,
            seconds_per_case=plan.engine_seconds,
            max_calls=plan.engine_max_calls,
            opa=with_opa,
            rego=REGO,
            workdir=workdir,
        )
        problems += print_engine(figures, loads)
        print_vs_figure(figures)

        sizes = (10, 1_000, 20_000) if args.quick else (10, 1_000, 100_000)
        banner(
            "1b. allowlist size: policy load (parse, validate, index), memory, evaluate() "
            "per object"
        )
        points = allowlist_curve(sizes, plan.engine_seconds, plan.engine_max_calls)
        problems += print_curve(points, write_svg(args.svg, points))

        banner("1c. the offline checker: 200-route VirtualServices from YAML to verdicts")
        # seven alternating rounds: with three, one slow stretch of a shared machine moved
        # the median of either reader by a quarter
        problems += print_checker(checker_speed(3 if args.quick else 10, 2 if args.quick else 7))

        if args.engine_only:
            return _finish(started, missing, problems)
        bundle = write_bundle(workdir / "certs")
        with Servers(workdir, bundle.ca_path, bundle.cert_path, bundle.key_path) as servers:
            banner(
                "2/3. request path over HTTPS on 127.0.0.1 (keep-alive, "
                f"{plan.concurrency} in flight, load generator in its own process)"
            )
            print(
                "request mix: the example manifests as AdmissionReviews (SE and VS, "
                "allowed and denied) in turn, example policy; every verdict checked"
            )
            _results, more = request_path(servers, workdir, plan, opa, opa_version)
            problems += more
            banner("4. multi-worker scaling: serve --workers 1 vs 2 (SO_REUSEPORT)")
            problems += scaling(servers, workdir, plan)
            banner("5. latency under load: open loop at fixed rates")
            problems += latency_under_load(servers, workdir, plan)
            reload_entries = 20_000 if args.quick else 100_000
            banner(f"6. reload under load: a {reload_entries:,}-entry policy replaced while "
                   "reviews arrive")  # fmt: skip
            problems += reload_under_load(servers, workdir, reload_entries)
            if not args.no_profile:
                banner("profile: our server under cProfile, same load")
                problems += profile(servers, workdir, plan)
    return _finish(started, missing, problems)


def _finish(started: float, missing: list[str], problems: list[str]) -> int:
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    if missing:
        loud("MISSING COMPARISONS:\n" + "\n".join(f"- {p}" for p in missing))
    if problems:
        loud("PROBLEMS (the figures above are not to be trusted):\n"
             + "\n".join(f"- {p}" for p in problems))  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: every server started was stopped", file=sys.stderr)
        sys.exit(130)
