"""The registry of kinds: lookups by apiVersion/kind, and the webhook rules derived from it."""

from __future__ import annotations

from typing import Any

import pytest

from webhook.policy.kinds import KINDS
from webhook.policy.registry import Kind, Registry


@pytest.mark.parametrize(
    ("api_version", "kind", "found"),
    [
        ("networking.istio.io/v1", "ServiceEntry", "ServiceEntry"),
        ("networking.istio.io/v1alpha3", "VirtualService", "VirtualService"),
        ("networking.istio.io/v1beta1", "ServiceEntry", "ServiceEntry"),
        ("networking.istio.io/v2", "ServiceEntry", None),  # a version we have not read
        ("example.com/v1", "ServiceEntry", None),  # same kind, another group
        ("v1", "ServiceEntry", None),
        ("networking.istio.io/v1", "serviceentry", None),  # kinds are case-sensitive
        ({"a": 1}, "ServiceEntry", None),
        ("networking.istio.io/v1", ["ServiceEntry"], None),
        (None, None, None),
    ],
)
def test_lookup(api_version: Any, kind: Any, found: str | None) -> None:
    entry = KINDS.lookup(api_version, kind)
    assert (entry.kind if entry else None) == found


def test_every_kind_has_rules_and_a_plural_resource() -> None:
    for entry in KINDS:
        assert entry.rules, entry.kind
        assert entry.resource == entry.resource.lower()
        assert entry.resource.endswith("s")


def test_webhook_rules_cover_every_kind_and_version() -> None:
    covered = {
        (group, version, resource)
        for rule in KINDS.webhook_rules()
        for group in rule["apiGroups"]
        for version in rule["apiVersions"]
        for resource in rule["resources"]
    }
    expected = {(k.group, v, k.resource) for k in KINDS for v in k.versions}
    assert covered == expected


def test_a_kind_registered_twice_is_refused() -> None:
    entry: Kind[Any] = next(iter(KINDS))
    with pytest.raises(ValueError, match="twice"):
        Registry(entry, entry)
