"""The checker's reports and `run_check`: text for people, JSON for machines, exit codes."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import webhook.check as check_module
from webhook.check import run_check
from webhook.check.manifests import Origin
from webhook.check.report import CheckedObject, CheckReport, build_report, render_json, render_text
from webhook.policy.decision import Decision, Violation
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"

DENIED = Decision(
    kind="ServiceEntry",
    namespace="default",
    name="exfil",
    allowed=False,
    violations=(
        Violation(
            rule="hosts",
            field="spec.hosts[0]",
            message='host "evil.example.org" is not on the egress allowlist\n'
            "(allowed: api.github.com)",
        ),
    ),
)
ALLOWED = Decision(kind="VirtualService", namespace="default", name="github", allowed=True)
WARNED = Decision(
    kind="ServiceEntry",
    namespace="team",
    name="soft",
    allowed=True,
    warnings=("would be denied in enforce mode: port 80 is not allowed",),
)
EXEMPT = Decision(
    kind="ServiceEntry", namespace="istio-system", name="gw", allowed=True, exempt=True
)
SKIPPED = Decision(kind="ConfigMap", namespace="default", name="cfg", allowed=True, handled=False)


def checked(decision: Decision, line: int = 1, item: str = "") -> CheckedObject:
    return CheckedObject(Origin("m.yaml", 1, line, item), decision)


def report_of(*decisions: Decision) -> CheckReport:
    return build_report([checked(d, line=i + 1) for i, d in enumerate(decisions)])


# -- text -------------------------------------------------------------------------------


def test_text_report_one_line_per_object_findings_under_it_and_a_summary() -> None:
    text = render_text(report_of(DENIED, ALLOWED, WARNED, EXEMPT, SKIPPED))
    assert text == (
        "DENIED  ServiceEntry default/exfil (m.yaml:1)\n"
        '    spec.hosts[0]: host "evil.example.org" is not on the egress allowlist\n'
        "      (allowed: api.github.com) [hosts]\n"
        "ALLOWED VirtualService default/github (m.yaml:2)\n"
        "ALLOWED ServiceEntry team/soft (m.yaml:3)\n"
        "    warning: would be denied in enforce mode: port 80 is not allowed\n"
        "ALLOWED ServiceEntry istio-system/gw (m.yaml:4) - namespace is exempt\n"
        "4 objects checked: 3 allowed, 1 denied, 1 skipped, 1 warning\n"
    )


@pytest.mark.parametrize(
    ("decisions", "summary"),
    [
        ((), "0 objects checked: 0 allowed, 0 denied, 0 skipped"),
        ((ALLOWED,), "1 object checked: 1 allowed, 0 denied, 0 skipped"),
        ((SKIPPED, SKIPPED), "0 objects checked: 0 allowed, 0 denied, 2 skipped"),
        ((DENIED, DENIED, ALLOWED), "3 objects checked: 1 allowed, 2 denied, 0 skipped"),
    ],
)
def test_summary_line(decisions: tuple[Decision, ...], summary: str) -> None:
    assert render_text(report_of(*decisions)).splitlines()[-1] == summary


@pytest.mark.parametrize(
    ("decisions", "code"),
    [
        ((), 0),
        ((ALLOWED, WARNED, EXEMPT, SKIPPED), 0),
        ((ALLOWED, DENIED), 1),
        ((SKIPPED, DENIED), 1),
    ],
)
def test_exit_code(decisions: tuple[Decision, ...], code: int) -> None:
    assert report_of(*decisions).exit_code == code


# -- JSON -------------------------------------------------------------------------------


def test_json_report_is_one_document_with_results_and_summary() -> None:
    report = build_report([checked(DENIED, line=7, item="items[0]"), checked(SKIPPED, line=9)])
    document = json.loads(render_json(report))
    assert document["results"] == [
        {
            "kind": "ServiceEntry",
            "namespace": "default",
            "name": "exfil",
            "source": "m.yaml:7",
            "file": "m.yaml",
            "line": 7,
            "document": 1,
            "item": "items[0]",
            "allowed": False,
            "exempt": False,
            "violations": [
                {
                    "rule": "hosts",
                    "field": "spec.hosts[0]",
                    "line": 7,
                    "message": 'host "evil.example.org" is not on the egress allowlist\n'
                    "(allowed: api.github.com)",
                }
            ],
            "warnings": [],
        }
    ]
    assert document["skipped"] == [
        {
            "kind": "ConfigMap",
            "namespace": "default",
            "name": "cfg",
            "source": "m.yaml:9",
            "file": "m.yaml",
            "line": 9,
            "document": 1,
        }
    ]
    assert document["summary"] == {
        "checked": 1,
        "allowed": 0,
        "denied": 1,
        "skipped": 1,
        "warnings": 0,
    }


def test_json_keeps_non_ascii_readable() -> None:
    decision = Decision(kind="ServiceEntry", namespace="default", name="bücher", allowed=True)
    assert '"bücher"' in render_json(report_of(decision))


# -- run_check --------------------------------------------------------------------------


def run(
    tmp_path: Path, manifests: str, *args: str, policy: Path = POLICY, output: str = "text"
) -> tuple[int, str, str]:
    path = tmp_path / "in.yaml"
    path.write_text(manifests)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_check(
        policy_path=policy,
        paths=[str(path), *args],
        namespace="default",
        output=output,
        stdin=io.StringIO(""),
        stdout=stdout,
        stderr=stderr,
    )
    return code, stdout.getvalue(), stderr.getvalue()


SE = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\n"


def fake_engine(verdicts: Mapping[str, bool]) -> Any:
    """An engine that denies objects by name, so the front end is tested on its own."""

    def evaluate(
        obj: Mapping[str, Any], policy: CompiledPolicy, *, namespace: str | None = None
    ) -> Decision:
        meta = obj["metadata"]
        name = meta["name"]
        return Decision(
            kind=obj["kind"],
            namespace=meta.get("namespace") or namespace or "",
            name=name,
            allowed=verdicts.get(name, True),
            violations=() if verdicts.get(name, True) else (Violation("r", "spec", "no"),),
        )

    return evaluate


def test_run_check_passes_the_namespace_for_objects_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_module, "evaluate", fake_engine({"bad": False}))
    text = SE + "---\n" + SE.replace("name: x", "name: bad, namespace: team")
    stdout, stderr = io.StringIO(), io.StringIO()
    path = tmp_path / "in.yaml"
    path.write_text(text)
    code = run_check(POLICY, [str(path)], "payments", "json", io.StringIO(), stdout, stderr)
    results = json.loads(stdout.getvalue())["results"]
    assert code == 1
    assert [(r["namespace"], r["name"], r["allowed"]) for r in results] == [
        ("payments", "x", True),
        ("team", "bad", False),
    ]
    assert stderr.getvalue() == ""


def test_invalid_policy_exits_2_listing_every_problem(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("allowlist:\n  - host: api.github.com\n    prots: []\nmode: maybe\n")
    code, stdout, stderr = run(tmp_path, SE, policy=policy)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith(f"error: invalid policy {policy}:\n")
    assert f"{policy}:3: allowlist[0].prots: unknown field" in stderr
    assert f"{policy}:4: mode:" in stderr


def test_unreadable_input_exits_2_with_every_problem_and_no_results(tmp_path: Path) -> None:
    code, stdout, stderr = run(tmp_path, SE + "metadata: {}\n", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert stdout == ""
    assert stderr.splitlines() == [
        f'error: {tmp_path / "in.yaml"}:4: mapping key "metadata" already defined at line 3',
        f"error: {tmp_path / 'missing.yaml'}: cannot read: No such file or directory",
        "error: 2 input problems; nothing was checked",
    ]


@pytest.mark.parametrize("namespace", ["", "Team", "a_b", "x" * 64])
def test_an_invalid_namespace_is_a_usage_error(tmp_path: Path, namespace: str) -> None:
    stderr = io.StringIO()
    code = run_check(POLICY, ["-"], namespace, "text", io.StringIO(SE), io.StringIO(), stderr)
    assert code == 2
    assert "is not a valid namespace name" in stderr.getvalue()


def test_an_engine_bug_is_exit_2_with_the_object_named_never_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> Decision:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(check_module, "evaluate", broken)
    code, stdout, stderr = run(tmp_path, SE)
    assert code == 2
    assert stdout == ""
    assert "internal error in the policy engine" in stderr
    assert "ZeroDivisionError: boom" in stderr
    assert f"while checking the object at {tmp_path / 'in.yaml'}:1" in stderr


def test_no_checked_kinds_is_a_note_not_an_error(tmp_path: Path) -> None:
    code, stdout, stderr = run(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert code == 0
    assert stdout == "0 objects checked: 0 allowed, 0 denied, 1 skipped\n"
    assert stderr == (
        f"note: no object of a checked kind ({', '.join(KINDS.names)}) found in the input "
        "(1 other object)\n"
    )


# -- warn mode, --quiet, --fail-on -------------------------------------------------------

WARN_MODE = Decision(
    kind="ServiceEntry",
    namespace="default",
    name="loose",
    allowed=True,
    violations=(Violation("service-entry-ports", "spec.ports[0]", "port 80 is not allowed"),),
    warnings=("spec.ports[0]: port 80 is not allowed [service-entry-ports]",),
)


def test_warn_mode_findings_are_printed_once_as_warnings() -> None:
    text = render_text(report_of(WARN_MODE))
    assert text == (
        "ALLOWED ServiceEntry default/loose (m.yaml:1)\n"
        "    warning: spec.ports[0]: port 80 is not allowed [service-entry-ports]\n"
        "1 object checked: 1 allowed, 0 denied, 0 skipped, 1 warning\n"
    )


def test_quiet_lists_only_what_fails_the_run() -> None:
    report = report_of(ALLOWED, DENIED, WARN_MODE)
    quiet = render_text(report, quiet=True)
    assert quiet.splitlines()[0] == "DENIED  ServiceEntry default/exfil (m.yaml:2)"
    assert "VirtualService default/github" not in quiet
    assert "loose" not in quiet
    assert quiet.endswith("3 objects checked: 2 allowed, 1 denied, 0 skipped, 1 warning\n")
    assert "ALLOWED ServiceEntry default/loose" in render_text(
        report, quiet=True, fail_on="warnings"
    )


@pytest.mark.parametrize(
    ("decisions", "fail_on", "code"),
    [
        ((ALLOWED, WARN_MODE), "denied", 0),
        ((ALLOWED, WARN_MODE), "warnings", 1),
        ((ALLOWED, WARNED), "warnings", 1),
        ((ALLOWED, EXEMPT, SKIPPED), "warnings", 0),
        ((DENIED,), "denied", 1),
    ],
)
def test_fail_on_warnings_is_stricter_than_the_cluster(
    decisions: tuple[Decision, ...], fail_on: str, code: int
) -> None:
    assert report_of(*decisions).exit_code_for(fail_on) == code  # type: ignore[arg-type]
