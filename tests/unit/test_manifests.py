"""Reading manifests: what kubectl would send is read, what it would refuse is refused."""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import pytest

import webhook.check.inputs as inputs_module
from webhook import yaml_strict
from webhook.check.manifests import (
    Manifest,
    expand_path,
    load_manifests,
    parse_manifests,
)
from webhook.errors import ManifestError

SE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: {name}
spec:
  hosts: [api.github.com]
"""


def names(manifests: list[Manifest]) -> list[str]:
    return [m.obj["metadata"]["name"] for m in manifests]


def refused(text: str, file: str = "m.yaml") -> str:
    with pytest.raises(ManifestError) as caught:
        parse_manifests(text, file)
    return str(caught.value)


# -- documents ------------------------------------------------------------------------


def test_multi_document_yaml_skips_empty_and_null_documents_and_remembers_origin() -> None:
    text = (
        "# leading comment\n"
        "---\n" + SE.format(name="a") + "---\n"
        "---\n"
        "null\n"
        "---\n"
        "# only a comment\n"
        "---\n" + SE.format(name="b")
    )
    found = parse_manifests(text, "m.yaml")
    assert names(found) == ["a", "b"]
    assert [str(m.origin) for m in found] == ["m.yaml:3", "m.yaml:15"]
    assert [m.origin.document for m in found] == [1, 5]


def test_an_empty_file_has_no_objects() -> None:
    assert parse_manifests("", "m.yaml") == []
    assert parse_manifests("# nothing\n", "m.yaml") == []


def test_kind_list_items_are_read_recursively_with_their_own_lines() -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: first}
  - apiVersion: v1
    kind: List
    items:
      - apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: nested}
"""
    found = parse_manifests(text, "list.yaml")
    assert names(found) == ["first", "nested"]
    assert [(m.origin.line, m.origin.item) for m in found] == [
        (4, "items[0]"),
        (10, "items[1].items[0]"),
    ]


def test_typed_lists_are_lists_too() -> None:
    text = json.dumps(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntryList",
            "items": [json.loads(json.dumps({"apiVersion": "v1", "kind": "X", "metadata": {}}))],
        }
    )
    assert [m.obj["kind"] for m in parse_manifests(text, "l.json")] == ["X"]


def test_an_object_with_items_is_checked_both_as_itself_and_as_a_list() -> None:
    # kubectl would send the items; another client the object: neither may escape a check.
    text = (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: outer}\n"
        "items:\n  - apiVersion: networking.istio.io/v1\n    kind: ServiceEntry\n"
        "    metadata: {name: inner}\n"
    )
    assert names(parse_manifests(text, "m.yaml")) == ["outer", "inner"]


def test_json_stream_of_objects_with_lines() -> None:
    one = json.dumps({"apiVersion": "v1", "kind": "A", "metadata": {"name": "one"}})
    two = json.dumps({"apiVersion": "v1", "kind": "B", "metadata": {"name": "two"}}, indent=2)
    found = parse_manifests(f"{one}\n\n{two}{one}", "s.json")
    assert names(found) == ["one", "two", "one"]
    assert [m.origin.line for m in found] == [1, 3, 9]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
    ],
)
def test_byte_order_marks_are_honoured_and_removed(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(
        bom + '{"apiVersion":"v1","kind":"A","metadata":{"name":"x"}}'.encode(encoding)
    )
    found, problems = load_manifests([str(path)], stdin=io.StringIO())
    assert problems == []
    assert names(found) == ["x"]


def test_timestamps_stay_strings_and_scalar_keys_become_json_strings() -> None:
    text = (
        "apiVersion: v1\nkind: A\nmetadata:\n  name: x\n"
        "  annotations: {when: 2024-01-01, 1: one, true: two, ~: three, 1.5: four}\n"
    )
    annotations = parse_manifests(text, "m.yaml")[0].obj["metadata"]["annotations"]
    assert annotations == {
        "when": "2024-01-01",
        "1": "one",
        "true": "two",  # Python would have merged this key with 1
        "null": "three",
        "1.5": "four",
    }


def test_merge_keys_may_be_overridden_like_kubectl_allows() -> None:
    text = (
        "apiVersion: v1\nkind: A\nmetadata: {name: x}\n"
        "base: &base {port: 80, name: http}\n"
        "spec:\n  <<: *base\n  port: 443\n"
    )
    assert parse_manifests(text, "m.yaml")[0].obj["spec"] == {"port": 443, "name": "http"}


def test_a_modest_alias_is_fine() -> None:
    text = "apiVersion: v1\nkind: A\nmetadata: {name: x}\nhosts: &h [a.example.com]\nagain: *h\n"
    assert parse_manifests(text, "m.yaml")[0].obj["again"] == ["a.example.com"]


# -- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            SE.format(name="a") + "  hosts: [evil.example.org]\n",
            'm.yaml:7: mapping key "hosts" already defined at line 6',
            id="duplicate-key-hides-a-field",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n  name: b\n",
            'm.yaml:5: mapping key "name" already defined at line 4',
            id="duplicate-nested-key",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\nmetadata: {name: a}\nx: {1: a, '1': b}\n",
            'm.yaml:4: mapping key "1" already defined at line 4',
            id="keys-equal-once-json",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n labels: {}\n",
            "m.yaml:5: not valid YAML:",
            id="bad-indentation",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\nspec: [1, 2\n",
            "m.yaml:4: not valid YAML: did not find expected ',' or ']'",
            id="unclosed-flow-sequence",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\nx: \x07\n", "m.yaml:3: not valid YAML", id="ctl-char"
        ),
        pytest.param("- a\n- b\n", "m.yaml:1: document 1 is a list", id="list-document"),
        pytest.param(
            SE.format(name="a") + "---\nhello\n", "m.yaml:8: document 2 is a string", id="scalar"
        ),
        pytest.param("kind: A\nmetadata: {}\n", "m.yaml:1: object has no apiVersion", id="no-av"),
        pytest.param(
            "apiVersion: v1\nmetadata: {}\n", "m.yaml:1: object has no kind", id="no-kind"
        ),
        pytest.param(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: A\n  - 3\n",
            "m.yaml:6: items[1] is a number, not a Kubernetes object",
            id="list-item-not-object",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\ndata: !!binary aGVsbG8=\n",
            "m.yaml:1: data: a bytes value has no JSON form",
            id="binary",
        ),
        pytest.param(
            "apiVersion: v1\nkind: A\ndata: !!python/object:os.system {}\n",
            "m.yaml:3: not valid YAML: could not determine a constructor",
            id="python-tag",
        ),
        pytest.param("&a [*a]\n", "m.yaml:1: an alias refers to a node that contains it", id="rec"),
        pytest.param(
            '{"apiVersion": "v1", "kind": "A", "kind": "B"}',
            'm.yaml:1: key "kind" appears twice',
            id="json-duplicate-key",
        ),
        pytest.param('{"apiVersion": "v1",\n "kind": }', "m.yaml:2: not valid JSON", id="json"),
        pytest.param(
            '{"apiVersion": "v1", "kind": "A", "x": NaN}',
            "m.yaml:1: not valid JSON: NaN is not a JSON number",
            id="json-nan",
        ),
    ],
)
def test_refused_with_file_and_line(text: str, expected: str) -> None:
    assert refused(text).startswith(expected)


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):  # 10**9 nodes once expanded
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    message = refused("\n".join(levels) + "\n")
    assert message.startswith("m.yaml:1: aliases expand this document to ")
    assert "alias bomb" in message


@pytest.mark.parametrize("depth", [1_001, 5_000, 200_000])
@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ("{a: ", "}")])
def test_deep_flow_nesting_is_an_error_not_a_crash(opening: str, closing: str, depth: int) -> None:
    # libyaml's composer recurses in C: 30,000 levels overflowed its stack (a segfault)
    assert "nested too deeply" in refused("x: " + opening * depth + "1" + closing * depth)


@pytest.mark.parametrize("depth", [1_001, 100_000])
def test_deep_block_sequences_on_one_line_are_an_error_not_a_crash(depth: int) -> None:
    assert "nested too deeply" in refused("x:\n" + "- " * depth + "1\n")


def test_deep_indentation_is_an_error_not_a_crash() -> None:
    document = "".join(" " * i + "a:\n" for i in range(3_000)) + " " * 3_000 + "1\n"
    assert "nested too deeply" in refused(document)


#: Flow nesting spread over lines, each line balanced to a naive count of its brackets:
#: a comment, a quoted string or a block scalar holds the closing brackets.
_SPREAD_NESTING = {
    "comment": lambda depth: "x: " + "[ # ]\n" * depth + "1" + "]" * depth,
    "double-quoted": lambda depth: "x: " + '[ "]",\n' * depth + "1" + "]" * depth,
    "single-quoted": lambda depth: "x: " + "[ ']',\n" * depth + "1" + "]" * depth,
    "multi-line string": lambda depth: (
        'x: ["a\n' + "]" * depth + '",\n' + "[" * depth + "1" + "]" * (depth + 1)
    ),
    "one bracket a line": lambda depth: "x:\n" + " [\n" * depth + " 1\n" + " ]\n" * depth,
}


@pytest.mark.parametrize("shape", sorted(_SPREAD_NESTING))
def test_flow_nesting_spread_over_lines_is_still_measured(shape: str) -> None:
    # the fast bound only trusts lines that cannot hide a bracket: these go to the parser
    assert "nested too deeply" in refused(_SPREAD_NESTING[shape](20_000))


def test_balanced_flow_lines_are_read_without_counting_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `protocols: [TLS, HTTPS]` on 2,000 entries: more brackets than the limit, but each
    # line closes what it opens, so the event stream is never walked
    entries = "".join(
        f"- host: h{i}.example.com\n  protocols: [TLS, HTTPS]\n" for i in range(2_000)
    )
    monkeypatch.setattr(yaml_strict, "_EventParser", None)
    assert not yaml_strict.nesting_exceeds("allowlist:\n" + entries)


def test_nesting_within_the_limit_is_read() -> None:
    document = "apiVersion: v1\nkind: A\nspec: " + "[" * 900 + "]" * 900 + "\n"
    spec = parse_manifests(document, "m.yaml")[0].obj["spec"]
    depth = 0
    while isinstance(spec, list) and spec:
        spec, depth = spec[0], depth + 1
    assert depth == 899  # the innermost list is empty


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    assert "nested too deeply" in refused('{"a":' * 100_000)


def test_non_utf8_bytes_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("apiVersion: v1\nkind: A\nmetadata: {name: caf\xe9}\n".encode("latin-1"))
    found, problems = load_manifests([str(path)], stdin=io.StringIO())
    assert found == []
    assert problems == [
        f"{path}:3: not UTF-8 text (byte 0xe9 at offset 43); save the file as UTF-8"
    ]


def test_a_file_with_a_problem_contributes_nothing_but_others_still_report(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SE.format(name="good"))
    (tmp_path / "b.yaml").write_text(SE.format(name="dup") + "  hosts: []\n")
    (tmp_path / "c.yaml").write_text("a: b\n  c: d\n")
    found, problems = load_manifests([str(tmp_path)], stdin=io.StringIO())
    assert names(found) == ["good"]
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{tmp_path / 'b.yaml'}:7",
        f"{tmp_path / 'c.yaml'}:2",
    ]


def test_oversized_input_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs_module, "MAX_INPUT_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text(SE.format(name="x"))
    _, problems = load_manifests([str(path)], stdin=io.StringIO())
    assert problems == [f"{path}: larger than 0 MiB; split it up"]


# -- files, folders, stdin ------------------------------------------------------------


def test_folders_are_walked_recursively_in_sorted_order_by_extension(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text(SE.format(name="b-z"))
    (tmp_path / "b" / "a.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "A", "metadata": {"name": "b-a"}})
    )
    (tmp_path / "a.yaml").write_text(SE.format(name="a"))
    (tmp_path / "notes.txt").write_text("not: [a manifest")
    (tmp_path / "values.yaml.bak").write_text("junk: [")
    found, problems = load_manifests([str(tmp_path)], stdin=io.StringIO())
    assert problems == []
    assert names(found) == ["a", "b-a", "b-z"]


def test_a_file_named_explicitly_is_read_whatever_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "rendered.txt"
    path.write_text(SE.format(name="x"))
    assert expand_path(str(path)) == [str(path)]


def test_symlink_loops_end_and_linked_folders_are_read_once(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "se.yaml").write_text(SE.format(name="x"))
    (tmp_path / "real" / "loop").symlink_to(tmp_path)
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    files = expand_path(str(tmp_path))
    assert len(files) == 1
    assert files[0].endswith("se.yaml")


def test_unreadable_manifest_in_a_folder_is_a_problem_not_silently_skipped(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "overlays.yaml"  # a folder named like a manifest is still a folder
    folder.mkdir()
    (folder / "gone.yaml").symlink_to(tmp_path / "missing")
    (folder / "gone.txt").symlink_to(tmp_path / "missing")  # not a manifest: ignored
    _, problems = load_manifests([str(tmp_path)], stdin=io.StringIO())
    assert problems == [f"{folder / 'gone.yaml'}: cannot read: No such file or directory"]


def test_a_missing_path_is_a_problem(tmp_path: Path) -> None:
    _, problems = load_manifests([str(tmp_path / "nope")], stdin=io.StringIO())
    assert problems == [f"{tmp_path / 'nope'}: cannot read: No such file or directory"]


def test_stdin_text_and_bytes() -> None:
    found, problems = load_manifests(["-"], stdin=io.StringIO(SE.format(name="t")))
    assert (names(found), problems) == (["t"], [])
    assert str(found[0].origin) == "<stdin>:1"

    binary = io.TextIOWrapper(io.BytesIO(codecs.BOM_UTF8 + SE.format(name="b").encode()))
    found, problems = load_manifests(["-"], stdin=binary)
    assert (names(found), problems) == (["b"], [])


def test_stdin_can_be_named_once() -> None:
    _, problems = load_manifests(["-", "-"], stdin=io.StringIO(""))
    assert problems == ["standard input (-f -) can be read only once"]
