"""The policy's JSON Schema is generated from the model, and its published copies match it."""

from __future__ import annotations

import json
from pathlib import Path

from webhook.policy.schema import chart_values_schema, policy_json_schema

REPO = Path(__file__).resolve().parents[2]
CHART_SCHEMA = REPO / "charts" / "egress-webhook" / "values.schema.json"
EDITOR_SCHEMA = REPO / "examples" / "policy.schema.json"

FIX = "run `make schema` to regenerate it from webhook/policy/model.py"


def test_the_editor_schema_is_the_models() -> None:
    assert json.loads(EDITOR_SCHEMA.read_text()) == policy_json_schema(), FIX


def test_the_charts_policy_section_is_the_models() -> None:
    chart = json.loads(CHART_SCHEMA.read_text())
    assert chart_values_schema(chart) == chart, FIX


def test_every_policy_field_is_described() -> None:
    schema = policy_json_schema()
    models = [schema, *schema["$defs"].values()]
    undocumented = [
        f"{model['title']}.{name}"
        for model in models
        for name, field in model["properties"].items()
        if not field.get("description")
    ]
    assert undocumented == []


def test_unknown_keys_are_refused_at_every_level() -> None:
    schema = policy_json_schema()
    for model in [schema, *schema["$defs"].values()]:
        assert model["additionalProperties"] is False, model["title"]
