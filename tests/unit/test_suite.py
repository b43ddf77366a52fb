"""Policy test suites: the examples pass, failures are readable, broken suites name file:line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml

from webhook.check.suite_model import suite_json_schema
from webhook.check.suite_report import run_tests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
POLICY = EXAMPLES / "policy.yaml"
DENIED = EXAMPLES / "manifests" / "denied"

FIX = "run `make schema` to regenerate it from webhook/check/suite_model.py"


def run(*paths: Path | str, output: str = "text") -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_tests([str(p) for p in paths], output, stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def suite(tmp_path: Path, text: str, name: str = "egress.suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("POLICY", str(POLICY)).replace("DENIED", str(DENIED)))
    return path


# -- the project's own suite -------------------------------------------------------------


def test_the_examples_suite_passes() -> None:
    code, stdout, stderr = run(EXAMPLES)
    assert (code, stderr) == (0, ""), stdout + stderr
    assert stdout.splitlines()[0] == f"{EXAMPLES / 'suite.yaml'}"
    assert stdout.endswith("1 suite, 5 cases: 5 passed, 0 failed\n")


def test_the_published_suite_schema_is_the_models() -> None:
    published = json.loads((EXAMPLES / "suite.schema.json").read_text())
    assert published == suite_json_schema(), FIX


def test_the_examples_suite_validates_against_the_published_schema() -> None:
    document = yaml.safe_load((EXAMPLES / "suite.yaml").read_text())
    jsonschema.Draft202012Validator(suite_json_schema()).validate(document)


def test_every_suite_field_is_described() -> None:
    schema = suite_json_schema()
    models = [schema, *schema["$defs"].values()]
    undocumented = [
        f"{model['title']}.{name}"
        for model in models
        for name, field in model["properties"].items()
        if not field.get("description")
    ]
    assert undocumented == []


# -- failures: exit 1, each unmet expectation under its case -------------------------------

FAILING = """\
policy: POLICY
cases:
  - name: wrong verdict
    manifests: [DENIED/not-allowlisted.yaml]
    verdict: allowed
  - name: wrong rule and message
    manifests: [DENIED/direct-route.yaml]
    expect:
      - object: VirtualService/default/github-direct
        verdict: denied
        rules: [mesh-routing, gateway-routing]
        message: ^nothing like this$
  - name: right
    manifests: [DENIED/direct-route.yaml]
    verdict: denied
"""


def test_a_failing_case_exits_1_and_says_what_was_expected(tmp_path: Path) -> None:
    path = suite(tmp_path, FAILING)
    code, stdout, stderr = run(path)
    assert (code, stderr) == (1, "")
    lines = stdout.splitlines()
    assert lines[1] == "  FAIL  wrong verdict (1 object)"
    assert lines[2].startswith(
        f"        ServiceEntry default/exfil ({DENIED / 'not-allowlisted.yaml'}:2): "
        'expected allowed, got denied (spec.hosts[0]: host "evil.example.org"'
    )
    assert lines[3] == "  FAIL  wrong rule and message (1 object)"
    assert "rule gateway-routing did not fire (fired: mesh-routing)" in lines[4]
    assert "no finding matches /^nothing like this$/ (findings: spec.tls[0]" in lines[5]
    assert lines[6] == "  PASS  right (1 object)"
    assert lines[-1] == "1 suite, 3 cases: 1 passed, 2 failed"


def test_junit_and_json_report_the_same_failures(tmp_path: Path) -> None:
    path = suite(tmp_path, FAILING)
    code, stdout, _ = run(path, output="junit")
    assert code == 1
    root = ET.fromstring(stdout.encode())  # noqa: S314 - our own output
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "0")
    first = root.findall("./testsuite/testcase")[0]
    assert (first.get("name"), first.get("line")) == ("wrong verdict", "3")
    code, stdout, _ = run(path, output="json")
    document = json.loads(stdout)
    assert document["summary"] == {
        "suites": 1,
        "cases": 3,
        "passed": 1,
        "failed": 2,
        "broken": 0,
    }
    assert [c["passed"] for c in document["suites"][0]["cases"]] == [False, False, True]


def test_a_suite_can_use_the_charts_values_file(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"policy": yaml.safe_load(POLICY.read_text())}))
    path = suite(
        tmp_path,
        "values: values.yaml\ncases:\n  - name: d\n    manifests: [DENIED]\n    verdict: denied\n",
    )
    assert run(path)[0] == 0


# -- broken suites: exit 2, file:line: what ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        pytest.param("policy: POLICY\ncases: [\n", 3, "not valid YAML", id="yaml"),
        pytest.param(
            "policy: POLICY\ncases:\n  - name: a\n    manifest: [x]\n    verdict: allowed\n",
            4,
            "cases[0].manifest: unknown field",
            id="unknown-key",
        ),
        pytest.param(
            "cases:\n  - {name: a, manifests: [DENIED], verdict: allowed}\n",
            1,
            "exactly one of `policy` or `values`",
            id="no-policy",
        ),
        pytest.param("policy: POLICY\ncases: []\n", 1, "at least one case", id="no-case"),
        pytest.param(
            "policy: POLICY\ncases:\n  - {name: a, manifests: [missing.yaml], verdict: denied}\n",
            3,
            "missing.yaml: cannot read",
            id="missing-manifest",
        ),
        pytest.param(
            "policy: POLICY\ncases:\n  - name: a\n    manifests: [DENIED]\n    expect:\n"
            "      - {object: ServiceEntry/exfil, verdict: denied}\n"
            "      - {object: ServiceEntry/nothere, verdict: denied}\n",
            7,
            "ServiceEntry/nothere: no such object in case 'a'",
            id="unknown-object",
        ),
        pytest.param(
            "policy: POLICY\ncases:\n  - name: a\n    manifests: [DENIED]\n    expect:\n"
            "      - {object: ServiceEntry/exfil, verdict: denied}\n",
            3,
            "no expected verdict for VirtualService default/github-direct",
            id="object-without-verdict",
        ),
        pytest.param(
            "policy: POLICY\ncases:\n  - name: a\n    manifests: [DENIED]\n    expect:\n"
            "      - {object: ServiceEntry/exfil, verdict: denied, message: '('}\n",
            6,
            "not a valid regular expression",
            id="bad-pattern",
        ),
        pytest.param(
            "policy: policy.yaml\ncases:\n  - {name: a, manifests: [DENIED], verdict: denied}\n",
            1,
            "policy: invalid policy",
            id="bad-policy",
        ),
    ],
)
def test_a_broken_suite_exits_2_naming_file_and_line(
    tmp_path: Path, text: str, line: int, what: str
) -> None:
    (tmp_path / "policy.yaml").write_text("allowlist: [{host: x.example.com, portz: []}]\n")
    path = suite(tmp_path, text)
    good = suite(
        tmp_path,
        "policy: POLICY\ncases:\n  - {name: a, manifests: [DENIED], verdict: denied}\n",
        "good.suite.yaml",
    )
    code, stdout, stderr = run(tmp_path)
    assert code == 2
    assert f"error: {path}:{line}: " in stderr
    assert what in stderr
    assert f"1 broken suite(s), not run: {path}" in stderr
    assert stdout.startswith(f"{good}\n  PASS  a")  # the other suites still run


def test_a_folder_without_suites_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY.read_text())
    code, _, stderr = run(tmp_path)
    assert code == 2
    assert f"{tmp_path}: no suite file (named *suite.yaml) in this folder" in stderr
