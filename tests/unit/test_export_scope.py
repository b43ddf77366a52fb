"""export-scope: objects using a namespace-restricted entry stay in those namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import policy_from
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


OVERLAP_POLICY = policy_from(
    """
allowlist:
  - host: "*.example.com"
    namespaces: [a, c]
    ports:
      - number: 443
        protocols: [TLS]
  - host: "*.example.org"
    ports:
      - number: 443
        protocols: [TLS]
  - host: api.example.com
    namespaces: [a]
    ports:
      - number: 8443
        protocols: [TLS]
  - host: api.example.org
    namespaces: [a]
    ports:
      - number: 8443
        protocols: [TLS]
    cidrs: [192.0.2.0/24]
"""
)


def _api(host: str, export_to: list[str] | None, number: int = 8443, **spec: Any) -> Any:
    return service_entry(
        "a",
        hosts=[host],
        ports=[{"number": number, "name": "tls", "protocol": "TLS"}],
        resolution="DNS",
        location="MESH_EXTERNAL",
        **({"exportTo": export_to} if export_to is not None else {}),
        **spec,
    )


@pytest.mark.parametrize(
    ("obj", "denied"),
    [
        # Door: port 8443 of api.example.com is namespace a's alone; a broader entry
        # opening 443 to a and c let a's ServiceEntry hand c the whole service, 8443 too.
        pytest.param(_api("api.example.com", [".", "c"]), True, id="port-of-a-exported-to-c"),
        # Door: an unrestricted *.example.org on 443 let the entry skip the scope check,
        # so exportTo "*" (or the default) gave every namespace api.example.org:8443.
        pytest.param(_api("api.example.org", ["*"]), True, id="port-of-a-exported-everywhere"),
        pytest.param(_api("api.example.org", None), True, id="port-of-a-exported-by-default"),
        pytest.param(_api("api.example.org", ["."]), False, id="kept-home"),
        pytest.param(_api("api.example.org", ["istio-system"]), False, id="to-the-gateway"),
        pytest.param(_api("api.example.com", ["c"], 443), False, id="port-c-may-use"),
        pytest.param(_api("api.example.org", ["*"], 443), False, id="port-all-may-use"),
    ],
)
def test_overlapping_entries_scope_each_port(obj: Any, denied: bool) -> None:
    assert _denied_by(obj, OVERLAP_POLICY) is denied


def test_addresses_are_scoped_per_namespace_too() -> None:
    # Door: the address is inside a's entry's cidrs only; b's entry has none.
    obj = _api("api.example.org", [".", "b"], 443, addresses=["192.0.2.10"])
    obj["spec"]["resolution"] = "STATIC"
    obj["spec"]["endpoints"] = [{"address": "192.0.2.10"}]
    [violation] = findings(RULE, obj, OVERLAP_POLICY)
    assert violation.field == "spec.exportTo[1]"
    assert 'address "192.0.2.10"' in violation.message
    obj["spec"]["exportTo"] = ["."]
    assert not _denied_by(obj, OVERLAP_POLICY)


def _denied_by(obj: dict[str, Any], policy: Any) -> bool:
    return any(findings(RULE, obj, policy))
