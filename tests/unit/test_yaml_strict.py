"""The strict YAML reader: its direct build of anchor-free documents matches the general path."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from webhook.yaml_strict import StrictLoader


def _read(text: str, *, general: bool) -> list[Any]:
    loader = StrictLoader(text)
    if general:
        loader.aliases_possible = True  # what a text with an "&" in it gets
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            documents.append(loader.construct_document(node) if node is not None else None)
        return documents
    finally:
        loader.dispose()


@pytest.mark.parametrize(
    "text",
    [
        "a: b\nc: [1, 2, '3', 0, 010, 0x1F, 1_000, -4, +5, 1.5, .inf, 1:30]\n",
        "t: 2026-01-01T00:00:00Z\nd: 2026-01-01\nb: [yes, No, true, off, ~, null, '']\n",
        "1: one\ntrue: t\nnull: n\n1.5: f\n",
        "s: !!str 12\nbin: !!binary aGk=\nset: !!set {a, b}\nomap: !!omap [{a: 1}]\n",
        "m:\n  <<: {a: 1, b: 2}\n  b: 3\n",
        "x: " + "[" * 200 + "]" * 200 + "\n",
        "---\nkind: A\n---\n---\n- 1\n- {x: [a, {y: z}]}\n",
        'name: "quoted: yes"\nblock: |\n  line\n  two\nfolded: >\n  a\n  b\n',
    ],
)
def test_the_direct_build_equals_the_general_path(text: str) -> None:
    fast = _read(text, general=False)
    assert fast == _read(text, general=True)
    assert repr(fast) == repr(_read(text, general=True))  # same types too (1 vs 1.0 vs "1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 'mapping key "a" already defined at line 1'),
        ("1: x\n'1': y\n", 'mapping key "1" already defined at line 1'),
        ("x:\n  ? [a]\n  : b\n", "a mapping key must be a string, got a list"),
        ("x: !!python/name:os.system\n", "could not determine a constructor"),
    ],
)
def test_the_direct_build_refuses_what_the_general_path_refuses(text: str, message: str) -> None:
    for general in (False, True):
        with pytest.raises(yaml.constructor.ConstructorError) as info:
            _read(text, general=general)
        assert message in str(info.value)


def test_only_a_text_with_an_anchor_takes_the_general_path() -> None:
    assert not StrictLoader("a: b\n").aliases_possible
    assert StrictLoader("a: &x b\nc: *x\n").aliases_possible
    assert StrictLoader(b"q: 'a&b'\n").aliases_possible  # conservative: any "&"
