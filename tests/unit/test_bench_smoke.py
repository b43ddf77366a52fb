"""The bench's own correctness (load generator, workload, Rego port); nothing here is timed."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from aiohttp import web

from bench.bare import create_bare_app, server_context
from bench.load import cpu_seconds_of, run_load, run_open_loop
from bench.servers import REGO, free_port
from bench.workload import (
    EXAMPLE_POLICY,
    admission_review,
    engine_cases,
    large_policy_text,
    opa_data,
    review_cases,
    sized_policy_text,
)
from bench.wrk import parse_output, write_bodies, wrk_seconds
from tests.conftest import ROOT
from webhook.certs import write_bundle
from webhook.policy.engine import evaluate
from webhook.policy.loader import load_policy, parse_policy

OPA = (
    Path(os.environ.get("EGRESS_WEBHOOK_CACHE", Path.home() / ".cache/egress-webhook")) / "bin/opa"
)


def test_every_workload_object_gets_its_expected_verdict() -> None:
    policies = {"example": load_policy(EXAMPLE_POLICY), "large": parse_policy(large_policy_text())}
    for case in engine_cases():
        decision = evaluate(
            case.obj, policies[case.policy], namespace=case.obj["metadata"].get("namespace")
        )
        assert decision.allowed is case.allowed, (case.label, decision.message())
    assert len(policies["large"].policy.allowlist) == 1000


def test_cpu_seconds_of_reads_this_process() -> None:
    assert cpu_seconds_of(os.getpid()) is not None
    assert cpu_seconds_of(2**22 + 1) is None  # above pid_max: no such process


@pytest.fixture
async def bare_url(tmp_path: Path) -> Any:
    bundle = write_bundle(tmp_path / "certs")
    runner = web.AppRunner(create_bare_app(), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(
        runner, "127.0.0.1", port, ssl_context=server_context(bundle.cert_path, bundle.key_path)
    )
    await site.start()
    try:
        yield (
            f"https://127.0.0.1:{port}/validate",
            ssl.create_default_context(cafile=str(bundle.ca_path)),
        )
    finally:
        await runner.cleanup()


def _cases(expect: bool | None) -> list[dict[str, Any]]:
    return [{"label": c.label, "body": c.body.decode(), "allowed": expect} for c in review_cases()]


async def test_load_generator_counts_answered_requests(bare_url: Any) -> None:
    url, context = bare_url
    result = await run_load(
        url, _cases(None), ssl_context=context, concurrency=2, duration=5.0, warmup=0.0,
        max_requests=40,
    )  # fmt: skip
    assert (result.requests, result.errors) == (40, 0)
    assert result.p50_ms <= result.p99_ms <= result.max_ms


async def test_load_generator_refuses_a_wrong_verdict(bare_url: Any) -> None:
    url, context = bare_url  # the bare server allows everything
    result = await run_load(
        url, _cases(False), ssl_context=context, concurrency=2, duration=5.0, warmup=0.0,
        max_requests=10,
    )  # fmt: skip
    assert result.requests == 0
    assert result.wrong_verdicts == result.errors == 10
    assert "expected False" in (result.first_error or "")


async def test_open_loop_sends_on_schedule_and_checks_verdicts(bare_url: Any) -> None:
    url, context = bare_url
    result = await run_open_loop(url, _cases(None), ssl_context=context, rate=50, duration=0.4)
    assert (result.requests, result.errors) == (20, 0)
    assert result.p50_ms <= result.p99_ms <= result.max_ms
    wrong = await run_open_loop(url, _cases(False), ssl_context=context, rate=50, duration=0.2)
    assert wrong.requests == 0
    assert wrong.wrong_verdicts == wrong.errors == 10


def _objects() -> list[tuple[str, str, dict[str, Any]]]:
    objects = [(c.policy, c.label, c.obj) for c in engine_cases()]
    for path in sorted((ROOT / "examples" / "manifests").rglob("*.yaml")):
        objects += [("example", path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    verdicts = ROOT / "tests" / "e2e" / "manifests" / "verdicts.yaml"
    objects += [("example", d["metadata"]["name"], d) for d in yaml.safe_load_all(
        verdicts.read_text()) if d]  # fmt: skip
    return objects


@pytest.fixture(scope="module")
def opa_binary() -> Path:
    """The opa built by `make toolchain` (bench/build-opa.sh); a missing one fails, loudly."""
    if OPA.exists():
        return OPA
    found = shutil.which("opa")
    if found is None:
        pytest.fail(
            f"opa is not built at {OPA}: run `make toolchain` (bench/build-opa.sh, needs Go) "
            "so the Rego port the benchmark compares against is checked against the engine"
        )
    return Path(found)


@pytest.mark.parametrize(("policy_name", "label", "obj"), _objects(), ids=lambda v: str(v)[:40])
def test_rego_reaches_the_engines_verdict(
    tmp_path: Path, opa_binary: Path, policy_name: str, label: str, obj: dict[str, Any]
) -> None:
    opa = opa_binary
    policy = load_policy(EXAMPLE_POLICY) if policy_name == "example" else parse_policy(
        large_policy_text())  # fmt: skip
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"egress_policy": opa_data(policy)}))
    review = tmp_path / "input.json"
    review.write_text(json.dumps(admission_review(obj)))
    done = subprocess.run(
        [str(opa), "eval", "--format", "json", "-d", str(REGO), "-d", str(data),
         "-i", str(review), "data.egress.admission.main"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    answer = json.loads(done.stdout)["result"][0]["expressions"][0]["value"]
    expected = evaluate(obj, policy, namespace=obj["metadata"].get("namespace"))
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == admission_review(obj)["request"]["uid"]
    assert answer["response"]["allowed"] is expected.allowed, (label, answer, expected.message())


def test_the_sized_policies_have_their_size_and_keep_the_example_verdicts() -> None:
    from bench.scale import SizePoint, curve_svg

    policy = parse_policy(sized_policy_text(1_000))
    assert len(policy.policy.allowlist) == 1_000
    assert policy.allowed_count("team-10") > policy.allowed_count("nobody")
    for case in engine_cases():
        if case.policy == "example":
            assert evaluate(case.obj, policy).allowed == case.allowed, case.label
    point = SizePoint(10, 0.01, 0.01, 1.0, 20.0, 30.0, 40.0, 50.0, verdicts_ok=True)
    svg = curve_svg(
        [point, SizePoint(1000, 0.1, 0.05, 2.0, 21.0, 31.0, 41.0, 51.0, verdicts_ok=True)]
    )
    ElementTree.fromstring(svg)  # noqa: S314 - well-formed; the string is our own output


def test_the_manifests_text_has_no_aliases() -> None:
    from bench.workload import large_virtual_service, manifests_text

    text = manifests_text([large_virtual_service()])
    assert "&" not in text
    assert len(yaml.safe_load(text)["spec"]["http"]) == 200


#: wrk 4.1.0's report (--latency) of a 1 s run against `serve`, as it printed it
WRK_REPORT = """\
Running 1s test @ https://127.0.0.1:47651/validate
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   697.41us  118.75us   3.54ms   98.86%
    Req/Sec     5.77k   157.87     5.94k    70.00%
  Latency Distribution
     50%  682.00us
     75%  705.00us
     90%  728.00us
     99%  833.00us
  5737 requests in 1.00s, 2.90MB read
Requests/sec:   5735.80
Transfer/sec:      2.90MB
"""


def test_a_wrk_report_reads_as_the_load_figures() -> None:
    result = parse_output(WRK_REPORT, seconds=1.0, client_cpu=0.12, server_cpu=0.5737)
    assert (result.requests, result.errors, result.rps) == (5737, 0, 5735.80)
    assert (result.p50_ms, result.p90_ms, result.p99_ms, result.max_ms) == pytest.approx(
        (0.682, 0.728, 0.833, 3.54)
    )
    assert result.server_cpu_us_per_request == pytest.approx(100.0)
    assert result.first_error is None


def test_wrk_errors_are_counted_and_never_served() -> None:
    report = WRK_REPORT.replace(
        "Requests/sec:",
        "  Socket errors: connect 0, read 2, write 0, timeout 1\n"
        "  Non-2xx or 3xx responses: 7\nRequests/sec:",
    )
    result = parse_output(report, seconds=1.0, client_cpu=0.1, server_cpu=None)
    assert (result.requests, result.errors) == (5737 - 10, 10)
    assert result.first_error == "10 responses not 2xx/3xx or socket errors"
    with pytest.raises(RuntimeError, match="wrk's report has no"):
        parse_output("wrk: connection refused\n", seconds=1.0, client_cpu=0, server_cpu=None)


def test_wrk_bodies_are_one_a_line(tmp_path: Path) -> None:
    bodies = [c.body for c in review_cases()]
    lines = write_bodies(tmp_path / "bodies.jsonl", bodies).read_bytes().splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(b) for b in bodies]


@pytest.mark.parametrize(("asked", "given"), [(0.5, 1), (1.0, 1), (3.0, 3), (2.2, 3), (0.0, 1)])
def test_wrk_durations_are_whole_seconds(asked: float, given: int) -> None:
    """wrk refuses "0.5s" with its usage text: `--quick`'s half-second warmup failed."""
    assert wrk_seconds(asked) == given
