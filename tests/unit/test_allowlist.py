"""Questions asked of the allowlist for one namespace: endpoint addresses."""

from __future__ import annotations

import pytest

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import RULES_POLICY_YAML
from webhook.policy.allowlist import address_problem
from webhook.policy.subject import Subject
from webhook.resources.base import ObjectMeta

POLICY = policy_from(RULES_POLICY_YAML + "internalNetworks: [10.96.0.0/12, fd00:10::/64]\n")


def _subject(namespace: str) -> Subject[ObjectMeta]:
    return Subject.build(
        kind="WorkloadEntry",
        namespace=namespace,
        name="x",
        metadata=ObjectMeta(),
        policy=POLICY,
        spec=ObjectMeta(),
    )


@pytest.mark.parametrize(
    ("address", "namespace", "fragment"),
    [
        ("10.96.0.10", "default", None),  # inside the internal networks
        ("fd00:10::5", "default", None),
        ("192.168.1.7", "payments", None),  # db.example.com's cidrs, usable from payments
        ("192.168.1.7", "default", "outside the internal networks"),  # ... but not here
        ("10.20.3.4", "default", None),  # *.partner.example.com's cidrs, every namespace
        ("8.8.8.8", "default", "outside the internal networks"),
        ("10.96.0.0/12", "default", None),  # a network inside the internal networks
        ("10.0.0.0/8", "default", "outside the internal networks"),  # wider than them
        ("web.default.svc.cluster.local", "default", None),  # in-cluster name
        ("api.github.com", "default", None),  # allowlisted name
        ("evil.example.org", "default", "not on the egress allowlist"),
        ("db.example.com", "default", "allowlisted only for namespace payments"),
        ("." * 10_000, "default", "DNS names have at most 253"),
    ],
)
def test_address_problem(address: str, namespace: str, fragment: str | None) -> None:
    problem = address_problem(_subject(namespace), address)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None
        assert fragment in problem


def test_without_internal_networks_only_allowlist_cidrs_are_reachable() -> None:
    subject = Subject.build(
        kind="WorkloadEntry",
        namespace="default",
        name="x",
        metadata=ObjectMeta(),
        policy=policy_from(RULES_POLICY_YAML),
        spec=ObjectMeta(),
    )
    problem = address_problem(subject, "10.96.0.10")
    assert problem is not None
    assert "none set" in problem
