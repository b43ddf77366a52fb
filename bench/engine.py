"""The engine alone: evaluate() per object, timed call by call with perf_counter_ns."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import EXAMPLE_POLICY, engine_cases, large_policy_text
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
    policies: dict[str, CompiledPolicy], *, seconds_per_case: float, max_calls: int
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
            )
        )
    return figures
