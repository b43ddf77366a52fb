"""The policy file's JSON Schema, generated from the pydantic model (never written by hand).

`egress-webhook schema` prints it; `examples/policy.schema.json` (for editors, via
yaml-language-server) and the `policy` section of the chart's values.schema.json are
copies that tests hold equal to this.
"""

from __future__ import annotations

from typing import Any

from webhook.policy.model import Policy

SCHEMA_ID = "https://github.com/istio-egress-webhook/istio-egress-webhook/policy.schema.json"


def policy_json_schema() -> dict[str, Any]:
    """The policy file's schema (draft 2020-12), with field names as written in YAML."""
    schema = Policy.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "istio-egress-webhook policy",
    }


def chart_values_schema(values_schema: dict[str, Any]) -> dict[str, Any]:
    """`values_schema` (the chart's) with its `policy` section and `$defs` from the model."""
    policy = policy_json_schema()
    definitions = policy.pop("$defs", {})
    for key in ("$schema", "$id", "title"):
        policy.pop(key, None)
    policy["description"] = "The egress policy (README: The policy file)."
    updated = dict(values_schema)
    updated["$defs"] = definitions
    updated["properties"] = {**values_schema["properties"], "policy": policy}
    return updated
