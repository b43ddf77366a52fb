"""The policy test suite file (`egress-webhook test`): strict, described, and its JSON Schema.

A suite names one policy and lists cases; each case brings manifests (files, folders,
or objects written inline) and says, per object, the verdict the engine must give,
optionally the rules that must fire and a pattern the findings must match. Paths are
relative to the suite file. `egress-webhook schema --suite` prints the schema
(examples/suite.schema.json is a copy a test holds equal).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SUITE_SCHEMA_ID = "https://github.com/istio-egress-webhook/istio-egress-webhook/suite.schema.json"

Verdict = Literal["allowed", "denied"]

#: ``Kind/name`` or ``Kind/namespace/name``.
OBJECT_REFERENCE = r"^[A-Za-z][A-Za-z0-9]*/([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[^/\s]+$"


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt expectation must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    """What the engine must decide for one object of the case."""

    object: Annotated[str, Field(pattern=OBJECT_REFERENCE)] = Field(
        description=(
            "The object, as Kind/name or Kind/namespace/name (the namespace defaults to "
            "the case's), e.g. ServiceEntry/payments/stripe."
        )
    )
    verdict: Verdict = Field(description="allowed or denied: the verdict the cluster must give.")
    rules: tuple[str, ...] = Field(
        default=(),
        description=(
            "Rules that must fire on the object (README, 'What the engine decides'), "
            "e.g. [mesh-routing]. Others may fire too."
        ),
    )
    message: str | None = Field(
        default=None,
        description=(
            "A regular expression (Python syntax) that must match somewhere in the "
            "object's findings: their field paths, messages and rule names."
        ),
    )

    @field_validator("message")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Case(_Strict):
    """Objects and the verdicts they must get."""

    name: Annotated[str, Field(min_length=1)] = Field(
        description="What the case shows, as a sentence; unique in the suite."
    )
    manifests: tuple[str, ...] = Field(
        default=(),
        description=(
            "Manifest files or folders (read as `check -f` reads them), relative to the suite file."
        ),
    )
    objects: tuple[dict[str, Any], ...] = Field(
        default=(), description="Kubernetes objects written inline."
    )
    namespace: str | None = Field(
        default=None,
        description="Namespace of objects that name none (default: the suite's namespace).",
    )
    verdict: Verdict | None = Field(
        default=None,
        description="The verdict every object of the case must get unless `expect` lists it.",
    )
    expect: tuple[Expectation, ...] = Field(
        default=(), description="Per-object expectations; these override `verdict`."
    )

    @model_validator(mode="after")
    def _complete(self) -> Case:
        if not self.manifests and not self.objects:
            raise ValueError("a case needs manifests or objects (or both)")
        if self.verdict is None and not self.expect:
            raise ValueError("a case needs a verdict for all its objects, or expect entries")
        return self


class Suite(_Strict):
    """A policy and the cases it must decide as written."""

    policy: str | None = Field(
        default=None, description="The policy file, relative to the suite file."
    )
    values: str | None = Field(
        default=None,
        description=(
            "Instead of `policy`: the egress-webhook chart's values file, whose `policy:` "
            "key is the policy (merged over the chart's defaults, as Helm does)."
        ),
    )
    namespace: str = Field(
        default="default", description="Namespace of objects that name none, as kubectl does."
    )
    cases: tuple[Case, ...] = Field(description="The cases (at least one), run in order.")

    @model_validator(mode="after")
    def _one_policy(self) -> Suite:
        if not self.cases:
            raise ValueError("a suite needs at least one case")
        if (self.policy is None) == (self.values is None):
            raise ValueError("name the policy with exactly one of `policy` or `values`")
        names = [case.name for case in self.cases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"case names must be unique; repeated: {', '.join(duplicates)}")
        return self


def suite_json_schema() -> dict[str, Any]:
    """The suite file's schema (draft 2020-12)."""
    schema = Suite.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SUITE_SCHEMA_ID,
        **schema,
        "title": "istio-egress-webhook policy test suite",
    }
