"""The plain-YAML reader: what it reads is what the strict reader reads; the rest it leaves."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workload import EXAMPLE_POLICY, large_policy_text, sized_policy_text
from webhook.yaml_plain import read_plain_mapping
from webhook.yaml_strict import MAX_NESTING, load_document


def _strict(text: str) -> Any:
    return load_document(text)[0]


def _same_as_strict(text: str) -> None:
    plain = read_plain_mapping(text, MAX_NESTING)
    assert plain is not None, "the plain reader left the text to the strict reader"
    strict = _strict(text)
    assert repr(plain) == repr(strict)  # the same values of the same types, in the same order


@pytest.mark.parametrize(
    "text",
    [
        "a: b\n",
        "a: b",
        "# a comment\n\na: b   # trailing comment\n  # indented comment\nc: d\n",
        "a:\n  b: c\n  d:\n    e: f\ng: h\n",
        "a:\n- 1\n- two\nb: x\n",  # a list indented like its key
        "a:\n  - 1\n  - two\nb: x\n",
        "a:\n  - b: 1\n    c: 2\n  -   d: 3\n      e: [x]\n  - [y, z]\n  - {}\n  - []\n",
        "k:\n- a:\n  - b\n",  # an indentless list in an item of an indentless list
        "a: [TLS, HTTPS]\nb: [ x ,y,  z ]\nc: []\nd: {}\ne: ['*', \"*.com\", 'it''s']\n",
        "a: 443\nd: yes\ne: Off\nf: null\ng: Null\nh: 2026-01-01\ni: true\n",
        "a: 10.0.0.0/8\nb: api-1.partner-1.example.com\nc: istio-system/istio-egressgateway\n",
        "a: two words\nb: '  spaced  '\nc: \"\"\nd: ''\ne: \"#not a comment\"\n",
        "a:\nb:\n  c:\nd: 1\n",  # empty values are null
        "on_call: 1\nyes_no: 2\nnull_x: 3\n_a-b: 4\ny: 5\nn: 6\n",
        "a:\n  b:\n    c:\n      - d:\n          e: 1\n",
    ],
)
def test_what_it_reads_is_what_the_strict_reader_reads(text: str) -> None:
    _same_as_strict(text)


def test_policies_as_written_and_generated_are_read() -> None:
    for text in (EXAMPLE_POLICY.read_text(), large_policy_text(), sized_policy_text(300)):
        _same_as_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "- a\n- b\n",  # not a mapping
        "a\n",
        "---\na: b\n",
        "a: b\n---\nc: d\n",
        "a: b\n...\n",
        "a:\tb\n",
        "a: b\r\nc: d\r\n",
        "a: caf\u00e9\n",
        "\ufeffa: b\n",
        "a: &x b\nc: *x\n",
        "a: !!str 1\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "a: b\n  c\n",  # a plain scalar continued on the next line
        "a:\n  b\n",
        'a: "b\n  c"\n',
        "a: [b,\n  c]\n",
        "a: {b: c}\n",
        "a: [{b: c}]\n",
        "a: [[b]]\n",
        'a: "\\u0041"\n',  # an escape
        'a: "b" "c"\n',
        "a: 1\nb: 2\na: 3\n",  # a duplicate key: the strict reader names both lines
        "true: 1\n",
        "on: 1\n",
        "null: 1\n",
        "a: 0x1F\n",
        "a: 0\n",
        "a: 010\n",
        "a: 1_000\n",
        "a: 1:30\n",
        "a: 1.5\n",
        "a: .inf\n",
        "a: ~\n",
        "a: =\n",
        "<<: {a: 1}\n",
        "a: b: c\n",
        "a:b\n",
        "a : b\n",
        "a: - b\n",
        "a: # comment\n  b: c\n",
        "a: b#c\n",
        "a:\n  - b\n  c: d\n",
        "a: 1\n- b\n",
        "a:\n  b: 1\n c: 2\n",
        "  a: 1\n",
        "- - a\n",
        "a:\n  -\n    b: 1\n",
        "a: fd00::/8\n",
        "a: [fd00::/8]\n",
        "? a\n: b\n",
        "'a': b\n",
        '"a": b\n',
        "a: [b, c,]\n",
        "a: ['b,c']\n",
        "k" * 200 + ": v\n",
    ],
)
def test_anything_else_is_left_to_the_strict_reader(text: str) -> None:
    assert read_plain_mapping(text, MAX_NESTING) is None


def test_deep_nesting_is_left_to_the_strict_reader_and_its_check() -> None:
    deep = "".join(" " * i + f"k{i}:\n" for i in range(20)) + " " * 20 + "k: [x]\n"
    assert read_plain_mapping(deep, 22) is not None  # 21 mappings and a list: 22 levels
    assert read_plain_mapping(deep, 21) is None


# Lines built from pieces that sit on both sides of every boundary the reader draws.
_KEYS = ["a", "b", "host", "on", "null", "y", "_k", "a-b", "1", "'q'", "? a", "<<", "a b"]
_VALUES = [
    "", "x", "two words", "443", "0", "010", "0x1F", "1_000", "1.5", "1:30", ".inf", "~",
    "null", "yes", "No", "2026-01-01", "2026-01-01 10:00:00", '"q"', '"a#b"', '"\\t"', "'s'",
    "'it''s'", "''", "[a, b]", "[]", "{}", "[a, [b]]", "{a: 1}", "['*', \"x\"]", "[a,]",
    "&anchor x", "*alias", "!!str 1", "|", ">", "- a", "a: b", "10.0.0.0/8", "fd00::/8",
    "x # comment", "x#y", "# comment", "=", "-", "a,b", "@x", "`x",
]  # fmt: skip
_LINES = st.builds(
    lambda indent, dash, key, value, tail: (
        " " * indent
        + dash
        + (f"{key}:" + (f" {value}" if value else "") if key is not None else value)
        + tail
    ),
    st.integers(0, 6),
    st.sampled_from(["", "", "- ", "-  ", "-"]),
    st.one_of(st.none(), st.sampled_from(_KEYS)),
    st.sampled_from(_VALUES),
    st.sampled_from(["", "", " ", "  # c"]),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, min_size=1, max_size=8), st.booleans())
def test_generated_texts_read_here_read_the_same_in_the_strict_reader(
    lines: list[str], final_newline: bool
) -> None:
    text = "\n".join(lines) + ("\n" if final_newline else "")
    plain = read_plain_mapping(text, MAX_NESTING)
    if plain is None:
        return
    try:
        strict = _strict(text)
    except yaml.YAMLError as exc:  # pragma: no cover - what the test is for
        pytest.fail(f"the plain reader read a text the strict reader refuses: {text!r}: {exc}")
    assert repr(plain) == repr(strict), text


_SCALARS = st.sampled_from(["x", "443", "yes", "null", "2026-01-01", '"*.a.com"', "'s'", "~"])
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "host", "ports"]), children, min_size=1),
    ),
    max_leaves=12,
)


def _render(value: Any, column: int, indent: int, indentless: bool) -> list[str]:
    """`value` as block YAML lines at `column` (a mapping's keys, a list's "- ")."""
    pad = " " * column
    lines: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, dict | list):
                lines.append(f"{pad}{key}:")
                deeper = column if isinstance(child, list) and indentless else column + indent
                lines.extend(_render(child, deeper, indent, indentless))
            else:
                lines.append(f"{pad}{key}: {child}")
        return lines
    for child in value:
        if isinstance(child, dict):
            rendered = _render(child, column + 2, indent, indentless)
            lines.append(f"{pad}- {rendered[0].lstrip(' ')}")
            lines.extend(rendered[1:])
        elif isinstance(child, list):
            lines.append(f"{pad}- [{', '.join(str(item) for item in child)}]")
        else:
            lines.append(f"{pad}- {child}")
    return lines


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _TREES, min_size=1),
    st.integers(1, 4),
    st.booleans(),
)
def test_block_documents_read_the_same_as_in_the_strict_reader(
    tree: dict[str, Any], indent: int, indentless: bool
) -> None:
    text = "\n".join(_render(tree, 0, indent, indentless)) + "\n"
    try:
        strict = _strict(text)
    except yaml.YAMLError:
        assert read_plain_mapping(text, MAX_NESTING) is None, text
        return
    plain = read_plain_mapping(text, MAX_NESTING)
    if plain is not None:
        assert repr(plain) == repr(strict), text
