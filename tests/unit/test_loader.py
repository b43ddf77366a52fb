"""Policy loading: every problem as file:line: field.path: what is wrong (what is allowed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.errors import PolicyInvalidError
from webhook.policy.loader import load_policy, parse_policy
from webhook.yaml_plain import read_plain_mapping
from webhook.yaml_strict import MAX_NESTING


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyInvalidError) as info:
        parse_policy(text, "policy.yaml")
    return info.value.problems


def test_the_example_policy_loads(example_policy: object) -> None:
    assert example_policy is not None


def test_every_problem_is_listed_with_line_and_field() -> None:
    problems = _problems(
        "allowlist:\n"
        '  - host: "*foo.com"\n'
        "    ports: [{number: 443}]\n"
        "  - host: api.github.com\n"
        "    portz: []\n"
        "    ports: [{number: 70000, protocols: [QUIC]}]\n"
        "mode: strict\n"
    )
    assert problems[0] == (
        'policy.yaml:2: allowlist[0].host: host "*foo.com" has a partial wildcard '
        '(only a leading "*." label is allowed)'
    )
    text = "\n".join(problems)
    assert "policy.yaml:5: allowlist[1].portz: unknown field" in text
    assert (
        "policy.yaml:6: allowlist[1].ports[0].number: Input should be less than or equal to 65535"
        in text
    )
    assert "policy.yaml:6: allowlist[1].ports[0].protocols[0]: Input should be 'HTTP'" in text
    assert "policy.yaml:7: mode: Input should be 'enforce' or 'warn', got 'strict'" in text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "policy.yaml:1: the policy must be a mapping with an allowlist, got an empty file"),
        ("- a\n- b\n", "got a list"),
        ("allowlist: [\n", "policy.yaml:2: not valid YAML"),
        ("mode: enforce\n", "policy.yaml:1: allowlist: required field is missing"),
        ("allowlist:\n  - host: a.com\n    ports: []\n", "should have at least 1 item"),
        (
            "allowlist:\n  - host: a.com\n    ports: [{number: 1}]\n    cidrs: [10.0.0.1/8]\n",
            "not a network address",
        ),
        ("allowlist: []\negressGateway:\n  service: egress\n", "fully qualified Service name"),
        ("allowlist: []\negressGateway:\n  gateways: [egress]\n", '"namespace/name"'),
        ("allowlist: []\negressGateway:\n  requireFor: ['*.com']\n", "over-broad"),
        ("allowlist: []\nclusterDomain: corp.local\n", "not in the cluster domain"),
        (
            "allowlist: []\nmode: warn\nmode: enforce\n",
            'policy.yaml:3: not valid YAML: mapping key "mode" already defined at line 2',
        ),
    ],
)
def test_broken_policies_are_refused_with_a_precise_message(text: str, fragment: str) -> None:
    assert fragment in "\n".join(_problems(text))


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalidError) as info:
        load_policy(tmp_path / "missing.yaml")
    assert "missing.yaml: cannot read the file" in info.value.problems[0]


def test_index_answers_by_namespace() -> None:
    policy = parse_policy(
        "allowlist:\n"
        "  - host: '*.example.com'\n    ports: [{number: 443}]\n"
        "  - host: a.example.com\n    namespaces: [team-a]\n    ports: [{number: 80}]\n",
        "p",
    )
    assert [e.host for e in policy.entries_in("a.example.com", "team-a")] == [
        "a.example.com",
        "*.example.com",
    ]
    assert [e.host for e in policy.entries_in("a.example.com", "team-b")] == ["*.example.com"]
    assert policy.entries_in("example.com", "team-a") == ()
    assert policy.allowed_hosts("team-b") == ["*.example.com"]


def test_a_json_policy_reads_as_the_yaml_reader_reads_it() -> None:
    yaml_text = (
        "allowlist:\n"
        "  - host: API.example.com\n    ports: [{number: 443, protocols: [tls]}]\n"
        "mode: warn\n"
    )
    json_text = (
        '{"allowlist": [{"host": "API.example.com", '
        '"ports": [{"number": 443, "protocols": ["tls"]}]}], "mode": "warn"}'
    )
    assert parse_policy(json_text).policy == parse_policy(yaml_text).policy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # duplicate keys: refused with both lines, by the YAML reader
        ('{"allowlist": [],\n "allowlist": []}', 'mapping key "allowlist" already defined'),
        # YAML 1.1 reads 1e3 as a string, so the port is not a number either way
        ('{"allowlist": [{"host": "a.example.com",\n "ports": [{"number": 1e3}]}]}', ":2:"),
        ('{"allowlist": [{"host": "a.example.com",\n "ports": [{"number": NaN}]}]}', ":2:"),
    ],
)
def test_a_json_policy_is_refused_as_its_yaml_reading_is(text: str, expected: str) -> None:
    problems = _problems(text)
    assert any(expected in p for p in problems), problems


_BLOCK_POLICY = (
    "# a policy in plain block YAML: read without composing YAML nodes\n"
    "allowlist:\n"
    "  - host: api.example.com\n"
    "    ports:\n"
    "      - number: 443\n"
    "        protocols: [tls]\n"
    '  - host: "*.example.net"\n'
    "    namespaces: [team-a]\n"
    "    ports:\n"
    "      - number: 8443\n"
    "mode: warn\n"
)


def test_a_plain_block_policy_reads_as_the_strict_reader_reads_it() -> None:
    assert read_plain_mapping(_BLOCK_POLICY, MAX_NESTING) is not None
    # an anchor nobody uses sends the same text through the strict reader
    strict = _BLOCK_POLICY.replace("mode: warn", "mode: &m warn")
    assert read_plain_mapping(strict, MAX_NESTING) is None
    assert parse_policy(_BLOCK_POLICY).policy == parse_policy(strict).policy


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("number: 8443", "number: 70000"), "policy.yaml:10: allowlist[1].ports[0].number: "),
        (("protocols: [tls]", "protocols: [quic]"), "policy.yaml:6: allowlist[0].ports[0]."),
        (("    namespaces: [team-a]\n", ""), None),  # still valid: nothing to report
        (("mode: warn", "mode: strict"), "policy.yaml:11: mode: Input should be"),
        (
            ("mode: warn", "mode: warn\nmode: enforce"),
            "policy.yaml:12: not valid YAML: mapping key",
        ),
        (("  - host: a", "  - host: A"), None),
        (("api.example.com", "api..example.com"), "policy.yaml:3: allowlist[0].host: host"),
    ],
)
def test_a_plain_block_policy_names_the_line_of_each_problem(
    change: tuple[str, str], expected: str | None
) -> None:
    text = _BLOCK_POLICY.replace(*change)
    if expected is None:
        parse_policy(text, "policy.yaml")
        return
    problems = _problems(text)
    assert any(p.startswith(expected) for p in problems), problems
