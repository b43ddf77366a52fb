"""`check` for CI and Helm: --values, SARIF and JUnit, --fail-on, --quiet, --post-render."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

from tests.integration.test_cli_check import (
    ALLOWED,
    DENIED,
    GITHUB_SE,
    POLICY,
    ROOT,
    assert_no_traceback,
    check,
    command,
    egress_webhook,
)

CHART_VALUES = ROOT / "charts" / "egress-webhook" / "values.yaml"
EXAMPLES = ROOT / "examples" / "manifests"
WARN_SE = GITHUB_SE.replace("resolution: DNS", "resolution: NONE").replace(
    "hosts: [api.github.com]", 'hosts: ["*.googleapis.com"]'
)


def values_file(tmp_path: Path, **policy_changes: object) -> Path:
    policy = {**yaml.safe_load(POLICY.read_text()), **policy_changes}
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"replicaCount": 2, "policy": policy}))
    return path


def test_values_file_gives_the_same_verdicts_as_the_policy_file(tmp_path: Path) -> None:
    values = values_file(tmp_path)
    by_values = egress_webhook("check", "--values", str(values), "-f", str(EXAMPLES), "-o", "json")
    by_policy = check("-f", str(EXAMPLES), "-o", "json")
    assert by_values.returncode == by_policy.returncode == 1
    assert json.loads(by_values.stdout) == json.loads(by_policy.stdout)


def test_policy_and_values_are_mutually_exclusive_and_one_is_needed(tmp_path: Path) -> None:
    both = egress_webhook(
        "check", "--policy", str(POLICY), "--values", str(values_file(tmp_path)), "-f", "-"
    )
    assert both.returncode == 2
    assert "not allowed with argument" in both.stderr
    neither = egress_webhook("check", "-f", str(ALLOWED))
    assert neither.returncode == 2
    assert "one of the arguments --policy --values is required" in neither.stderr


def test_a_broken_values_policy_exits_2_with_its_line(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicaCount: 1\npolicy:\n  allowlist: []\n  mode: maybe\n")
    proc = egress_webhook("check", "--values", str(values), "-f", str(ALLOWED))
    assert proc.returncode == 2
    assert f"{values}:4: policy.mode:" in proc.stderr
    assert_no_traceback(proc)


def test_sarif_output_from_the_cli() -> None:
    proc = check("-f", str(DENIED), "-o", "sarif")
    assert proc.returncode == 1
    results = json.loads(proc.stdout)["runs"][0]["results"]
    lines = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results
    }
    assert lines == {"mesh-routing": 16, "service-entry-hosts": 9}


def test_junit_output_from_the_cli() -> None:
    proc = check("-f", str(EXAMPLES), "-o", "junit")
    assert proc.returncode == 1
    root = ET.fromstring(proc.stdout.encode())  # noqa: S314 - our own output
    assert (root.get("tests"), root.get("failures")) == ("5", "2")


def test_fail_on_warnings_and_quiet(tmp_path: Path) -> None:
    path = tmp_path / "wildcard.yaml"
    path.write_text(WARN_SE)
    default = check("-f", str(path))
    assert default.returncode == 0, default.stdout + default.stderr
    assert "warning: " in default.stdout
    strict = check("-f", str(path), "--fail-on", "warnings", "--quiet")
    assert strict.returncode == 1
    assert strict.stdout.startswith("ALLOWED ServiceEntry default/github")
    quiet = check("-f", str(path), "--quiet")
    assert quiet.stdout == "1 object checked: 1 allowed, 0 denied, 0 skipped, 1 warning\n"


# -- --post-render: Helm's hook, byte for byte -------------------------------------------


def post_render(
    *args: str, stdin: bytes | str, helm_namespace: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The command as Helm runs it: bytes in, bytes out, Helm's environment."""
    env = {k: v for k, v in os.environ.items() if k != "HELM_NAMESPACE"}
    env["PYTHONPATH"] = str(ROOT)
    if helm_namespace is not None:
        env["HELM_NAMESPACE"] = helm_namespace
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [*command(), "check", "--post-render", *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def helm_output(*files: Path) -> bytes:
    """What `helm template` pipes to a post-renderer: sources, comments, odd spacing and all."""
    parts = [f"---\n# Source: demo/templates/{f.name}\n{f.read_text()}" for f in files]
    return ("\n".join(parts) + "\n\n# trailing comment, no newline").encode()


def test_post_render_echoes_compliant_manifests_byte_for_byte() -> None:
    data = helm_output(*sorted(ALLOWED.glob("*.yaml"))) + b"\r\n# caf\xc3\xa9 \r\n"
    proc = post_render("--policy", str(POLICY), stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data
    assert proc.stderr == b""


def test_post_render_refuses_a_non_compliant_release_with_nothing_on_stdout() -> None:
    data = helm_output(ALLOWED / "payments-db.yaml", DENIED / "not-allowlisted.yaml")
    proc = post_render("--policy", str(POLICY), stdin=data)
    assert proc.returncode == 1
    assert proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "DENIED  ServiceEntry default/exfil (<stdin>:" in stderr
    assert 'host "evil.example.org" is not on the egress allowlist' in stderr


def test_post_render_takes_the_release_namespace_from_helm(tmp_path: Path) -> None:
    db = (ALLOWED / "payments-db.yaml").read_text().replace("  namespace: payments\n", "")
    values = ("--values", str(values_file(tmp_path)))
    assert post_render(*values, "-n", "payments", stdin=db).returncode == 0
    assert post_render(*values, stdin=db, helm_namespace="payments").returncode == 0
    refused = post_render(*values, stdin=db, helm_namespace="shop")
    assert refused.returncode == 1
    assert b"DENIED  ServiceEntry shop/payments-db" in refused.stderr
    default = post_render(*values, stdin=db)
    assert b"DENIED  ServiceEntry default/payments-db" in default.stderr


def test_post_render_with_broken_input_or_files_is_an_error() -> None:
    broken = egress_webhook("check", "--post-render", "--policy", str(POLICY), stdin="a: [\n")
    assert broken.returncode == 2
    assert broken.stdout == ""
    assert "error: <stdin>:2: not valid YAML" in broken.stderr
    with_files = egress_webhook("check", "--post-render", "--policy", str(POLICY), "-f", "x")
    assert with_files.returncode == 2
    assert "--post-render reads stdin" in with_files.stderr


# -- egress-webhook test: the project's own suite through the real command ----------------


def test_the_examples_suite_passes_through_the_real_command() -> None:
    proc = egress_webhook("test", "examples/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith("1 suite, 5 cases: 5 passed, 0 failed\n")
    junit = egress_webhook("test", "examples/suite.yaml", "-o", "junit")
    root = ET.fromstring(junit.stdout.encode())  # noqa: S314 - our own output
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "0", "0")


def test_help_teaches_the_suite_format_and_the_ci_flags() -> None:
    test_help = egress_webhook("test", "--help").stdout
    for text in ("policy: policy.yaml", "verdict: denied", "rules: [mesh-routing]", "2  a broken"):
        assert text in test_help
    check_help = egress_webhook("check", "--help").stdout
    for text in ("--values VALUES", "sarif", "--fail-on", "--post-render", "--post-renderer"):
        assert text in check_help
