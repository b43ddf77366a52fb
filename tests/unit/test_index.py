"""The allowlist index: which entries a VirtualService host overlaps, without a scan."""

from __future__ import annotations

import pytest

import webhook.policy.model as model_module
from tests.unit.conftest import policy_from
from tests.unit.istio_objects import RULES_POLICY
from webhook.policy.index import MEMO_SIZE, CompiledPolicy


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


def test_allowed_hosts_merge_the_shared_and_the_namespace_lists() -> None:
    policy = policy_from(
        "allowlist:\n"
        "  - {host: b.example.com, ports: [{number: 443}]}\n"
        "  - {host: d.example.com, namespaces: [team-a], ports: [{number: 443}]}\n"
        "  - {host: a.example.com, namespaces: [team-a, team-b], ports: [{number: 443}]}\n"
        "  - {host: b.example.com, namespaces: [team-a], ports: [{number: 80}]}\n"
    )
    assert policy.allowed_hosts("team-a") == ["a.example.com", "b.example.com", "d.example.com"]
    assert policy.allowed_hosts("team-a", 2) == ["a.example.com", "b.example.com"]
    assert policy.allowed_count("team-a") == 3
    assert policy.allowed_hosts("team-b") == ["a.example.com", "b.example.com"]
    assert policy.allowed_hosts("elsewhere") == ["b.example.com"]
    assert policy.allowed_count("elsewhere") == 1


def test_host_answers_are_remembered_per_policy_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = _large_policy(10)
    lookups = 0
    original = CompiledPolicy._lookup

    def counting(self: CompiledPolicy, host: str) -> tuple[object, ...]:
        nonlocal lookups
        lookups += 1
        return original(self, host)

    monkeypatch.setattr(CompiledPolicy, "_lookup", counting)
    for _ in range(3):
        assert policy.entries_for("api-1.partner-1.example.com")
    assert lookups == 1
    for i in range(MEMO_SIZE + 10):  # a flood of names never grows the memo past its bound
        policy.entries_for(f"x{i}.example.org")
    assert len(policy._entries_for) <= MEMO_SIZE
    long_name = "a" * 300 + ".example.com"  # refused anyway; never kept
    policy.entries_for(long_name)
    policy.entries_for(long_name)
    assert policy._entries_for.get(long_name) is None


def test_loading_validates_each_host_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """No per-entry work that scales with the whole list: one host check per entry."""
    calls = 0
    original = model_module.normalize_policy_host

    def counting(host: str) -> str:
        nonlocal calls
        calls += 1
        return original(host)

    monkeypatch.setattr(model_module, "normalize_policy_host", counting)
    policy = _large_policy(500)
    # 500 entries plus the default egressGateway.requireFor ("*" is not a host)
    assert calls == len(policy.policy.allowlist) == 500


def test_gateway_hosts_under_a_domain_come_in_reversed_label_order() -> None:
    # the "labels reversed NUL host" keys sort as the (labels reversed, host) pairs did
    hosts = ("b.example.com", "*.a.example.com", "a.example.com", "x.a.example.com")
    compiled = policy_from(
        "allowlist:\n" + "".join(f"- host: '{h}'\n  ports: [{{number: 443}}]\n" for h in hosts)
    )
    assert compiled.gateway_names_overlapping("*.example.com", 10) == (
        "*.a.example.com",
        "a.example.com",
        "x.a.example.com",
        "b.example.com",
    )
    assert compiled.gateway_names_overlapping("*.a.example.com", 10) == (
        "*.a.example.com",
        "x.a.example.com",
    )
