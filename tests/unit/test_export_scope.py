"""export-scope: objects using a namespace-restricted entry stay in those namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import (
    GATEWAY,
    dest,
    findings,
    service_entry,
    tls_service_entry,
    virtual_service,
)
from webhook.policy.rules.export_scope import RULE


def _db(export_to: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "hosts": ["db.example.com"],
        "ports": [{"number": 5432, "name": "tcp-postgres", "protocol": "TCP"}],
        "resolution": "DNS",
    }
    if export_to is not None:
        spec["exportTo"] = export_to
    return service_entry("payments", **spec)


def _denied(obj: dict[str, Any]) -> bool:
    return any(findings(RULE, obj))


@pytest.mark.parametrize(
    ("export_to", "denied"),
    [
        ([".", "istio-system"], False),
        (["."], False),
        (["payments"], False),
        (["~"], False),
        (None, True),  # the default exports to every namespace
        (["*"], True),
        ([".", "default"], True),
    ],
)
def test_restricted_service_entry(export_to: list[str] | None, denied: bool) -> None:
    assert _denied(_db(export_to)) is denied


def test_default_export_message_names_the_default() -> None:
    [violation] = [v for v in findings(RULE, _db(None))]
    assert '"*" (the default: every namespace)' in violation.message
    assert "export only to ., istio-system, payments" in violation.message


def test_unrestricted_entries_may_be_exported_everywhere() -> None:
    assert not _denied(tls_service_entry("api.github.com", exportTo=["*"]))


def test_restricted_virtual_service_is_scoped_too() -> None:
    vs = virtual_service(
        "payments",
        hosts=["db.example.com"],
        tcp=[{"match": [{"port": 5432}], "route": [dest(GATEWAY, 5432)]}],
    )
    assert _denied(vs)
    vs["spec"]["exportTo"] = [".", "istio-system"]
    assert not _denied(vs)
