"""The engine alone: evaluate() per object, timed call by call with perf_counter_ns."""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import (
    EXAMPLE_POLICY,
    EngineCase,
    admission_review,
    engine_cases,
    large_policy_text,
    opa_data,
)
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy


@dataclass(frozen=True)
class EngineFigure:
    """Timings of one object: per-call median and p99 in microseconds."""

    label: str
    policy: str
    calls: int
    median_us: float
    p99_us: float
    allowed: bool
    expected: bool
    opa_median_us: float | None = None


@dataclass(frozen=True)
class PolicyLoad:
    """How long load_policy took for one policy file (parse, validate, index)."""

    label: str
    entries: int
    ms: float


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def load_policies(workdir: Path) -> tuple[dict[str, CompiledPolicy], list[PolicyLoad]]:
    """The example and the large policy, compiled, with their load times."""
    large = workdir / "large-policy.yaml"
    large.write_text(large_policy_text())
    policies: dict[str, CompiledPolicy] = {}
    loads: list[PolicyLoad] = []
    for label, path in (("example", EXAMPLE_POLICY), ("large", large)):
        started = time.perf_counter_ns()
        policies[label] = load_policy(path)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        loads.append(PolicyLoad(label, len(policies[label].policy.allowlist), elapsed))
    return policies, loads


def run_engine(
    policies: dict[str, CompiledPolicy],
    *,
    seconds_per_case: float,
    max_calls: int,
    opa: Path | None = None,
    rego: Path | None = None,
    workdir: Path | None = None,
) -> list[EngineFigure]:
    """Time evaluate() on each representative object, bounded in calls and in time.

    Each object is warmed up first (pydantic builds its validators lazily, CPython
    specialises hot bytecode); the garbage collector runs between objects, not during.
    """
    figures: list[EngineFigure] = []
    for case in engine_cases():
        policy = policies[case.policy]
        namespace = case.obj["metadata"].get("namespace")
        warm_deadline = time.perf_counter() + min(0.3, seconds_per_case / 4)
        decision = evaluate(case.obj, policy, namespace=namespace)
        while time.perf_counter() < warm_deadline:
            evaluate(case.obj, policy, namespace=namespace)
        gc.collect()
        samples: list[int] = []
        deadline = time.perf_counter_ns() + int(seconds_per_case * 1e9)
        clock = time.perf_counter_ns
        while len(samples) < max_calls:
            started = clock()
            evaluate(case.obj, policy, namespace=namespace)
            ended = clock()
            samples.append(ended - started)
            if ended > deadline:
                break
        samples.sort()
        figures.append(
            EngineFigure(
                label=case.label,
                policy=f"{case.policy} ({len(policy.policy.allowlist)})",
                calls=len(samples),
                median_us=statistics.median(samples) / 1e3,
                p99_us=percentile([float(s) for s in samples], 0.99) / 1e3,
                allowed=decision.allowed,
                expected=case.allowed,
                opa_median_us=opa_eval_us(opa, rego, case, policy, workdir)
                if opa and rego and workdir
                else None,
            )
        )
    return figures


def opa_eval_us(
    opa: Path, rego: Path, case: EngineCase, policy: CompiledPolicy, workdir: Path
) -> float | None:
    """OPA's own evaluation of bench/opa/egress.rego on the same object (`opa bench`).

    The median of rego_query_eval: the query is prepared once and the input parsed
    once, so this is the Rego counterpart of evaluate(), with no HTTP, TLS or JSON.
    `opa bench` runs Go's benchmark loop (about a second per object). None on failure.
    """
    data = workdir / f"opa-bench-data-{case.policy}.json"
    if not data.exists():
        data.write_text(json.dumps({"egress_policy": opa_data(policy)}))
    review = workdir / "opa-bench-input.json"
    review.write_text(json.dumps(admission_review(case.obj)))
    argv = [str(opa), "bench", "--format", "json", "-d", str(rego), "-d", str(data),
            "-i", str(review), "data.egress.admission.main"]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        extra = json.loads(done.stdout)["Extra"]
        return float(extra["histogram_timer_rego_query_eval_ns_median"]) / 1e3
    except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None
