"""Large inputs: the allowlist-size curve (with an SVG plot) and the offline checker's speed."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.resolver import Resolver

from bench.workload import (
    EXAMPLE_POLICY,
    large_virtual_service,
    manifest,
    manifests_text,
    service_entry,
    sized_policy_json,
    sized_policy_text,
)
from webhook.check import manifests as manifests_module
from webhook.check.manifests import parse_manifests
from webhook.policy.engine import evaluate
from webhook.policy.loader import load_policy, parse_policy
from webhook.yaml_strict import PureStrictLoader, StrictConstructor


class BaselineLoader(PureStrictLoader):
    """The reader before issue 12: PyYAML's pure-Python parser and composer, PyYAML's
    resolver, SafeConstructor's general path for every document, the cyclic collector
    running (what PyYAML without libyaml gave us: ~3,500 lines/s in the issue)."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.aliases_possible = True
        gc.enable()  # parse_manifests pauses it now; it ran before, and is restored after

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return str(Resolver.resolve(self, kind, value, implicit))  # type: ignore[no-untyped-call]

    def construct_document(self, node: yaml.Node) -> Any:
        return StrictConstructor.construct_document(self, node)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest rank."""
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def time_calls(call: Callable[[], object], seconds: float, max_calls: int) -> list[float]:
    """Sorted per-call times in µs of `call`, after a short warm-up; bounded in time."""
    for _ in range(20):
        call()
    gc.collect()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    clock = time.perf_counter_ns
    while len(samples) < max_calls:
        started = clock()
        call()
        samples.append((clock() - started) / 1e3)
        if time.perf_counter() > deadline:
            break
    samples.sort()
    return samples


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096
    except OSError:  # pragma: no cover - not Linux
        return 0


@dataclass(frozen=True)
class SizePoint:
    """One allowlist size: load time, memory the loaded policy holds, evaluate() timings."""

    entries: int
    load_s: float
    json_load_s: float
    rss_mib: float
    se_median_us: float
    se_p99_us: float
    vs_median_us: float
    vs_p99_us: float
    #: Both objects were allowed, as they must be at every size, and JSON read as YAML.
    verdicts_ok: bool


def allowlist_curve(sizes: tuple[int, ...], seconds: float, max_calls: int) -> list[SizePoint]:
    """Load a policy of each size (YAML, then the same as JSON: parse + validate + index),
    note the RSS it added, and time evaluate() on it."""
    se = service_entry("deep", "api.github.com")
    vs = manifest("allowed/github-via-egress-gateway.yaml", 1)
    points = []
    for size in sizes:
        text = sized_policy_text(size)
        gc.collect()
        before = _rss_bytes()
        started = time.perf_counter()
        policy = parse_policy(text, f"<{size} entries>")
        load_s = time.perf_counter() - started
        gc.collect()
        rss = (_rss_bytes() - before) / 2**20
        del text
        as_json = sized_policy_json(size)
        started = time.perf_counter()
        same = parse_policy(as_json, f"<{size} entries, JSON>")
        json_load_s = time.perf_counter() - started
        verdicts_ok = same.policy == policy.policy
        del as_json, same
        se_times = time_calls(lambda p=policy: evaluate(se, p), seconds, max_calls)
        vs_times = time_calls(lambda p=policy: evaluate(vs, p), seconds, max_calls)
        verdicts_ok = verdicts_ok and evaluate(se, policy).allowed and evaluate(vs, policy).allowed
        points.append(
            SizePoint(
                entries=len(policy.policy.allowlist),
                load_s=load_s,
                json_load_s=json_load_s,
                rss_mib=rss,
                se_median_us=statistics.median(se_times),
                se_p99_us=percentile(se_times, 0.99),
                vs_median_us=statistics.median(vs_times),
                vs_p99_us=percentile(vs_times, 0.99),
                verdicts_ok=verdicts_ok,
            )
        )
        del policy
    return points


# --- the plot ------------------------------------------------------------------------


def curve_svg(points: list[SizePoint]) -> str:
    """Two small log-x charts: load time, and evaluate() median per object, by entries."""
    width, height, pad = 360, 240, 48
    panels = [
        (
            "policy load (s)",
            [
                ("YAML", "#1f77b4", [p.load_s for p in points]),
                ("JSON", "#ff7f0e", [p.json_load_s for p in points]),
            ],
        ),
        (
            "evaluate() median (µs)",
            [
                ("ServiceEntry", "#2ca02c", [p.se_median_us for p in points]),
                ("VirtualService", "#d62728", [p.vs_median_us for p in points]),
            ],
        ),
    ]
    xs = [p.entries for p in points]
    lo, hi = math.log10(min(xs)), math.log10(max(xs))

    def x_of(value: int) -> float:
        return pad + (math.log10(value) - lo) / ((hi - lo) or 1) * (width - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height}" '
        'font-family="sans-serif" font-size="11">'
    ]
    for n, (title, series) in enumerate(panels):
        ox = n * width
        top = max(max(values) for _, _, values in series) * 1.1 or 1.0

        def y_of(value: float, top: float = top) -> float:
            return height - pad - value / top * (height - 2 * pad)

        parts.append(f'<g transform="translate({ox},0)">')
        parts.append(f'<text x="{width / 2}" y="18" text-anchor="middle">{title}</text>')
        parts.append(
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            'stroke="#444"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#444"/>'
        )
        for value in xs:
            parts.append(
                f'<text x="{x_of(value):.1f}" y="{height - pad + 16}" '
                f'text-anchor="middle">{value:,}</text>'
            )
        parts.append(
            f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">allowlist entries '
            "(log scale)</text>"
        )
        for tick in (0.0, 0.5, 1.0):
            value = top / 1.1 * tick
            parts.append(
                f'<text x="{pad - 4}" y="{y_of(value) + 4:.1f}" text-anchor="end">'
                f"{value:.3g}</text>"
            )
        for i, (label, colour, values) in enumerate(series):
            path = " ".join(f"{x_of(x):.1f},{y_of(v):.1f}" for x, v in zip(xs, values, strict=True))
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            for x, v in zip(xs, values, strict=True):
                parts.append(
                    f'<circle cx="{x_of(x):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}"/>'
                )
            parts.append(f'<text x="{pad + 8}" y="{pad + 14 * i}" fill="{colour}">{label}</text>')
        parts.append("</g>")
    parts.append("</svg>\n")
    return "\n".join(parts)


# --- the offline checker ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckerFigure:
    """The checker's speed reading YAML to verdicts, and the pure-Python reader's."""

    lines: int
    lines_per_s: float
    #: Ours and the pure-Python reader of before, on the same three objects, alternating.
    few_lines_per_s: float
    pure_lines_per_s: float
    one_vs_ms: float
    one_vs_p99_ms: float
    #: Every object was read and allowed.
    verdicts_ok: bool


def checker_speed(objects: int, rounds: int) -> CheckerFigure:
    """`egress-webhook check`'s work (parse_manifests + evaluate) on 200-route VirtualServices.

    Throughput on `objects` of them; the ratio to the pure-Python reader of before on
    three of them, the two readers alternating round by round so that a noisy
    neighbour slows both.
    """
    policy = load_policy(EXAMPLE_POLICY)
    many = []
    for i in range(objects):
        vs = large_virtual_service()
        vs["metadata"]["name"] = f"big-api-{i}"
        many.append(vs)
    text = manifests_text(many)
    few = manifests_text(many[:3])
    one = manifests_text([large_virtual_service()])

    def check(source: str) -> bool:
        found = parse_manifests(source, "bench.yaml")
        return bool(found) and all(evaluate(m.obj, policy).allowed for m in found)

    def seconds(source: str) -> float:
        started = time.perf_counter()
        check(source)
        return time.perf_counter() - started

    verdicts_ok = check(text) and check(one)
    runs = [seconds(text) for _ in range(rounds)]
    one_runs = sorted(seconds(one) * 1e3 for _ in range(max(10, rounds * 4)))
    ours_few: list[float] = []
    pure_few: list[float] = []
    original = manifests_module.StrictLoader
    for _ in range(rounds):
        ours_few.append(seconds(few))
        manifests_module.StrictLoader = BaselineLoader
        try:
            pure_few.append(seconds(few))
        finally:
            manifests_module.StrictLoader = original
    few_lines = few.count("\n")
    return CheckerFigure(
        lines=text.count("\n"),
        lines_per_s=text.count("\n") / statistics.median(runs),
        few_lines_per_s=few_lines / statistics.median(ours_few),
        pure_lines_per_s=few_lines / statistics.median(pure_few),
        one_vs_ms=statistics.median(one_runs),
        one_vs_p99_ms=percentile(one_runs, 0.99),
        verdicts_ok=verdicts_ok,
    )


def write_svg(path: Path, points: list[SizePoint]) -> Path:
    """Write the curve's plot to `path` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(curve_svg(points))
    return path
