"""`check --values`: the policy under a chart values file's `policy:` key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from webhook.errors import PolicyInvalidError
from webhook.policy.model import Policy
from webhook.policy.values import (
    CHART_POLICY_DEFAULTS,
    coalesce,
    load_values_policy,
    parse_values_policy,
)

ROOT = Path(__file__).resolve().parents[2]
CHART_VALUES = ROOT / "charts" / "egress-webhook" / "values.yaml"
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"


def test_the_policy_key_of_a_values_file_is_the_policy() -> None:
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    values = yaml.safe_dump({"replicaCount": 2, "image": {"tag": "x"}, "policy": policy})
    compiled = parse_values_policy(values, "values.yaml")
    assert compiled.policy == Policy.model_validate(policy)


def test_the_chart_defaults_copied_here_are_the_charts() -> None:
    assert yaml.safe_load(CHART_VALUES.read_text())["policy"] == CHART_POLICY_DEFAULTS
    assert load_values_policy(CHART_VALUES).policy.allowlist == ()


def test_a_partial_policy_is_merged_over_the_chart_defaults_as_helm_does() -> None:
    text = (
        "policy:\n"
        "  allowlist: [{host: api.github.com, ports: [{number: 443}]}]\n"
        "  egressGateway: {requireFor: [api.github.com]}\n"
    )
    policy = parse_values_policy(text, "values.yaml").policy
    assert policy.exempt_namespaces == ("istio-system",)  # the chart's default, not the model's
    assert policy.egress_gateway.require_for == ("api.github.com",)
    assert policy.egress_gateway.gateways == ("istio-system/istio-egressgateway",)


def test_null_removes_a_chart_default_as_in_helm() -> None:
    merged = coalesce(
        {"exemptNamespaces": None, "egressGateway": {"waypoints": None}},
        {
            "exemptNamespaces": ["istio-system"],
            "egressGateway": {"service": "gw", "waypoints": []},
        },
    )
    assert merged == {"egressGateway": {"service": "gw"}}


def test_problems_name_the_values_file_line_and_the_policy_path() -> None:
    text = "replicaCount: 2\npolicy:\n  allowlist:\n    - host: api.github.com\n      portz: []\n"
    with pytest.raises(PolicyInvalidError) as caught:
        parse_values_policy(text, "values.yaml")
    assert caught.value.problems == [
        "values.yaml:4: policy.allowlist[0].ports: required field is missing",
        "values.yaml:5: policy.allowlist[0].portz: unknown field (check the spelling; "
        "see the policy reference in README.md)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("replicaCount: 2\n", "values.yaml:1: no `policy:` key"),
        ("", "values.yaml:1: no `policy:` key"),
        ("policy: [\n", "values.yaml:2: not valid YAML"),
        ("policy: {}\npolicy: {}\n", 'values.yaml:2: not valid YAML: mapping key "policy"'),
    ],
)
def test_a_values_file_without_a_readable_policy_is_refused(text: str, problem: str) -> None:
    with pytest.raises(PolicyInvalidError) as caught:
        parse_values_policy(text, "values.yaml")
    assert caught.value.problems[0].startswith(problem)


def test_an_unreadable_values_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalidError, match="cannot read the file"):
        load_values_policy(tmp_path / "missing.yaml")
