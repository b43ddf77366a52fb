"""The allowlist index: which entries a VirtualService host overlaps, without a scan."""

from __future__ import annotations

import pytest

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import RULES_POLICY
from webhook.policy.index import CompiledPolicy


@pytest.mark.parametrize(
    ("host", "names"),
    [
        ("api.github.com", ("api.github.com",)),
        ("x.googleapis.com", ("*.googleapis.com",)),
        ("*.github.com", ("api.github.com",)),  # overlaps without containing
        ("*.example.com", ("db.example.com", "*.partner.example.com")),  # any namespace's
        # A partial wildcard is widened to *.com (the names are in reversed-label order).
        ("*hub.com", ("db.example.com", "*.partner.example.com", "api.github.com")),
        ("github.com", ()),
        ("*.api.github.com", ()),  # under an exact host: matches none of its names
        ("*.example.net", ()),  # overlaps only *.cdn.example.net, not gateway-required
        ("a.cdn.example.net", ()),
        ("*.example.org", ()),
    ],
)
def test_gateway_names_overlapping(host: str, names: tuple[str, ...]) -> None:
    assert RULES_POLICY.gateway_names_overlapping(host) == names


def test_bare_wildcard_and_tld_wildcards_overlap_some_required_name() -> None:
    for host in ("*", "*.com", "*.org"):
        assert RULES_POLICY.gateway_names_overlapping(host), host


def _large_policy(count: int) -> CompiledPolicy:
    entries = "\n".join(
        f"  - host: api-{i}.partner-{i % 97}.example.com\n    ports: [{{number: 443}}]"
        for i in range(count)
    )
    return policy_from(f"allowlist:\n{entries}\n")


def test_overlap_query_asks_a_bounded_number_of_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wildcard over a large allowlist is answered by bisection, not a scan of it."""
    policy = _large_policy(1000)
    calls = 0
    original = CompiledPolicy.requires_gateway

    def counting(self: CompiledPolicy, host: str) -> bool:
        nonlocal calls
        calls += 1
        return original(self, host)

    monkeypatch.setattr(CompiledPolicy, "requires_gateway", counting)
    assert len(policy.gateway_names_overlapping("*.com")) == 3
    under = sorted(
        (f"api-{i}.partner-5.example.com" for i in range(5, 1000, 97)),
        key=lambda h: h.split(".")[::-1],
    )
    assert policy.gateway_names_overlapping("*.partner-5.example.com", limit=100) == tuple(under)
    assert policy.gateway_names_overlapping("*.example.org") == ()
    assert calls == 3
