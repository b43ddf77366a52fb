"""The rule-table helper refuses to compare findings of an object no rule judged."""

from __future__ import annotations

import pytest

from tests.unit.istio_objects import findings, tls_service_entry
from webhook.policy.rules.service_entry_hosts import RULE


def test_a_schema_invalid_object_fails_the_table_instead_of_passing_it() -> None:
    obj = tls_service_entry("api.github.com")
    obj["spec"]["futureField"] = 1
    with pytest.raises(AssertionError, match="not schema-valid"):
        findings(RULE, obj)


def test_an_exempt_object_fails_the_table() -> None:
    obj = tls_service_entry("evil.example.org")
    obj["metadata"]["namespace"] = "istio-system"
    with pytest.raises(AssertionError, match="exempt"):
        findings(RULE, obj)


def test_an_unhandled_kind_fails_the_table() -> None:
    obj = {**tls_service_entry("evil.example.org"), "kind": "ConfigMap"}
    with pytest.raises(AssertionError, match="not a handled kind"):
        findings(RULE, obj)


def test_a_judged_object_returns_its_rule_findings() -> None:
    assert [v.field for v in findings(RULE, tls_service_entry("evil.example.org"))] == [
        "spec.hosts[0]"
    ]
