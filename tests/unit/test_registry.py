"""The registry of kinds: lookups by apiVersion/kind, and the webhook rules derived from it."""

from __future__ import annotations

import dataclasses
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


def test_webhook_entries_cover_every_kind_and_version_once() -> None:
    covered = [
        (group, version, resource)
        for entry in KINDS.webhooks()
        for rule in entry["rules"]
        for group in rule["apiGroups"]
        for version in rule["apiVersions"]
        for resource in rule["resources"]
    ]
    expected = {(k.group, v, k.resource) for k in KINDS for v in k.versions}
    assert sorted(covered) == sorted(expected)


def test_the_main_entry_comes_first_and_has_no_conditions() -> None:
    main, *others = KINDS.webhooks()
    assert main["prefix"] == ""
    assert main["matchConditions"] == []
    assert main["rules"] == KINDS.webhook_rules()
    assert [e["prefix"] for e in others] == sorted({k.webhook for k in KINDS} - {""})
    for entry in others:
        assert entry["matchConditions"], entry["prefix"]


def test_endpoint_controllers_are_never_sent_to_the_webhook() -> None:
    """Their writes (pod IPs) must not be judged: the condition names each controller user."""
    for kind in ("Endpoints", "EndpointSlice"):
        entry = next(k for k in KINDS if k.kind == kind)
        [condition] = entry.match_conditions
        for user in (
            "system:serviceaccount:kube-system:endpoint-controller",
            "system:serviceaccount:kube-system:endpointslice-controller",
            "system:serviceaccount:kube-system:endpointslice-mirroring-controller",
            "system:kube-controller-manager",
        ):
            assert f"'{user}'" in condition.expression
        assert condition.expression.startswith("!(request.userInfo.username in [")


def test_kinds_sharing_an_entry_must_share_its_conditions() -> None:
    entry: Kind[Any] = next(k for k in KINDS if k.kind == "Endpoints")
    other = dataclasses.replace(
        next(k for k in KINDS if k.kind == "EndpointSlice"), match_conditions=()
    )
    with pytest.raises(ValueError, match="matchConditions differ"):
        Registry(entry, other)


def test_a_kind_registered_twice_is_refused() -> None:
    entry: Kind[Any] = next(iter(KINDS))
    with pytest.raises(ValueError, match="twice"):
        Registry(entry, entry)
