"""Read Kubernetes manifests from files, folders and stdin into objects that remember their origin.

The reader sees what `kubectl apply -f` would send to the API server, or refuses the
input with ``file:line: what is wrong``: a checker that read a manifest differently
from kubectl could be talked into allowing an object the cluster then receives.

- A document that starts with ``{`` is a stream of JSON objects, anything else is
  YAML (multi-document); this is how kubectl's YAMLOrJSONDecoder sniffs its input.
- Duplicate mapping keys are refused, as kubectl refuses them; otherwise a tenant could
  hide a field from one reader behind a second copy of the key.
- YAML aliases may not expand a document beyond `MAX_EXPANDED_NODES` nodes
  ("billion laughs"), and recursive aliases are refused.
- Timestamps stay strings and every value must be representable in JSON, because
  the API server only ever sees the JSON form.
- An object with an ``items`` list is a list (``kind: List``, ``ServiceEntryList``):
  its items are read recursively, as kubectl does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import yaml

from webhook.check.inputs import (
    MANIFEST_SUFFIXES,
    MAX_INPUT_BYTES,
    STDIN,
    STDIN_NAME,
    decode_manifest_bytes,
    expand_path,
    read_manifest_file,
    read_stream,
)
from webhook.collector import collector_paused
from webhook.errors import ManifestError
from webhook.yaml_strict import (
    CStrictLoader,
    PureStrictLoader,
    StrictLoader,
    describe_value,
    nesting_exceeds,
)

#: Largest number of nodes one YAML document may expand to through aliases. A real
#: object is capped near 3 MiB (well under this); an alias bomb is not.
MAX_EXPANDED_NODES = 1_000_000

_JSONScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was read from.

    `document` is the 1-based index of the YAML/JSON document in the file, `line` the
    1-based line where the object starts, `item` its path inside a list object
    (``items[2]``) or empty.
    """

    file: str
    document: int
    line: int
    item: str = ""

    def __str__(self) -> str:
        # an object read from the cluster (audit) has no line: its file is where it lives
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object (as JSON-compatible data) and where it came from.

    `node` is the object's YAML node (None for JSON input): its marks give the line of
    each field, so a finding can point at the offending field rather than the object.
    """

    obj: dict[str, Any]
    origin: Origin
    node: yaml.Node | None = field(default=None, compare=False, repr=False)


def load_manifests(paths: Sequence[str], *, stdin: IO[Any]) -> tuple[list[Manifest], list[str]]:
    """Read every object from `paths` (files, folders, or ``-`` for `stdin`).

    Returns the objects in a deterministic order (arguments in order, folders
    walked in sorted order) and every problem found, one ``file:line: what`` line
    each; a file with a problem contributes no objects.
    """
    manifests: list[Manifest] = []
    problems: list[str] = []
    if sum(1 for p in paths if p == STDIN) > 1:
        problems.append("standard input (-f -) can be read only once")
        return manifests, problems
    for path in paths:
        try:
            files = [STDIN] if path == STDIN else expand_path(path)
        except ManifestError as exc:
            problems.append(str(exc))
            continue
        for file in files:
            try:
                if file == STDIN:
                    text = decode_manifest_bytes(read_stream(stdin), STDIN_NAME)
                    manifests.extend(parse_manifests(text, STDIN_NAME))
                else:
                    manifests.extend(parse_manifests(read_manifest_file(file), file))
            except ManifestError as exc:
                problems.append(str(exc))
    return manifests, problems


def parse_manifests(text: str, file: str) -> list[Manifest]:
    """Every object in the manifest `text` (YAML documents or a JSON stream) of `file`.

    Empty and null documents are skipped; list objects are flattened. Raises
    ManifestError with ``file:line: what`` for anything kubectl would not send as-is.
    """
    try:
        if text.lstrip(" \t\r\n").startswith("{"):
            documents = list(_json_documents(text, file))
        else:
            # the manifests (and their nodes, for lines) live as long as the command
            with collector_paused(keep=True):
                documents = list(_yaml_documents(text, file))
    except RecursionError:
        raise ManifestError(f"{file}: nested too deeply to be a Kubernetes object") from None
    manifests: list[Manifest] = []
    for index, (data, node, line) in enumerate(documents, start=1):
        if data is None:
            continue
        origin = Origin(file, index, line)
        if not isinstance(data, dict):
            raise ManifestError(
                f"{origin}: document {index} is {describe_value(data)}, not a Kubernetes object "
                "(a mapping with apiVersion and kind)"
            )
        _check_json_values(data, origin)
        manifests.extend(_objects(data, node, origin))
    return manifests


def _objects(data: dict[str, Any], node: yaml.Node | None, origin: Origin) -> Iterator[Manifest]:
    """`data` itself, or, when it is a list object, its items (recursively)."""
    item = origin.item
    for key in ("apiVersion", "kind"):
        if not isinstance(data.get(key), str) or not data[key]:
            name = f" {item}" if item else ""
            raise ManifestError(f"{origin}: object{name} has no {key} (every object needs one)")
    items = data.get("items")
    if not isinstance(items, list):
        yield Manifest(data, origin, node)
        return
    if not data["kind"].endswith("List"):
        # kubectl would send only the items; a client that does not flatten would send
        # the object itself. Check both views so neither can carry something unchecked.
        yield Manifest(data, origin, node)
    item_nodes = _item_nodes(node)
    for i, entry in enumerate(items):
        path = f"{item}.items[{i}]" if item else f"items[{i}]"
        entry_node = item_nodes[i] if item_nodes is not None and i < len(item_nodes) else None
        line = entry_node.start_mark.line + 1 if entry_node is not None else origin.line
        entry_origin = Origin(origin.file, origin.document, line, path)
        if not isinstance(entry, dict):
            raise ManifestError(
                f"{entry_origin}: {path} is {describe_value(entry)}, not a Kubernetes object"
            )
        yield from _objects(entry, entry_node, entry_origin)


def _item_nodes(node: yaml.Node | None) -> list[yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        is_items = isinstance(key, yaml.ScalarNode) and key.value == "items"
        if is_items and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return None


# -- YAML ---------------------------------------------------------------------------


def _yaml_documents(text: str, file: str) -> Iterator[tuple[Any, yaml.Node | None, int]]:
    if nesting_exceeds(text):
        raise RecursionError  # reported once, with the file, by parse_manifests
    loader: PureStrictLoader | CStrictLoader | None = None
    try:
        loader = StrictLoader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            if loader.aliases_possible:  # no "&" in the text: no anchor, so no alias
                _check_aliases(node, file)
            yield loader.construct_document(node), node, line
    except yaml.MarkedYAMLError as exc:
        raise ManifestError(_yaml_problem(exc, file)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ManifestError(
            f"{file}:{line}: not valid YAML: character {exc.character!r} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{file}: not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "unknown problem"
    context = ""
    if exc.context and exc.problem:
        context = f" ({exc.context}"
        if exc.context_mark is not None and exc.context_mark.line != getattr(mark, "line", None):
            context += f" that starts at line {exc.context_mark.line + 1}"
        context += ")"
    what = "not valid YAML: " if not problem.startswith("mapping key") else ""
    return f"{file}{line}: {what}{problem}{context}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_aliases(root: yaml.Node, file: str) -> None:
    """Refuse recursive aliases and documents that expand past MAX_EXPANDED_NODES.

    Counts the nodes the document would have with every alias expanded, visiting each
    distinct node once (so the count itself is cheap even for a bomb).
    """
    size: dict[int, int] = {}
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            ancestors.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            continue
        if key in size:
            continue
        if key in ancestors:
            raise ManifestError(
                f"{file}:{node.start_mark.line + 1}: an alias refers to a node that contains "
                "it (a recursive structure cannot be sent to the API server)"
            )
        ancestors.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    total = size[id(root)]
    if total > MAX_EXPANDED_NODES and total > len(size):
        raise ManifestError(
            f"{file}:{root.start_mark.line + 1}: aliases expand this document to {total} "
            f"nodes (limit {MAX_EXPANDED_NODES}); refusing what looks like an alias bomb"
        )


# -- JSON ---------------------------------------------------------------------------


class _DuplicateJSONKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateJSONKeyError(key)
        obj[key] = value
    return obj


def _json_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_json_object, parse_constant=_json_constant)


def _json_documents(text: str, file: str) -> Iterator[tuple[Any, yaml.Node | None, int]]:
    """A stream of JSON values, one after another, like kubectl's JSON decoder reads."""
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos == len(text):
            return
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except _DuplicateJSONKeyError as exc:
            raise ManifestError(
                f'{file}:{line}: key "{exc.key}" appears twice in an object of the JSON '
                "document that starts here"
            ) from None
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise ManifestError(f"{file}:{line}: not valid JSON: {exc}") from None
        yield value, None, line


# -- values -------------------------------------------------------------------------


def _json_values_only(data: object) -> bool:
    """True when every value in `data` has a JSON form: one pass, no paths built."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif not isinstance(value, _JSONScalar):
            return False
    return True


def _check_json_values(data: dict[str, Any], origin: Origin) -> None:
    """Refuse values the API server could not receive (binary, sets, pairs)."""
    if _json_values_only(data):
        return
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        elif not isinstance(value, _JSONScalar):
            raise ManifestError(
                f"{origin}: {path or '(document)'}: {describe_value(value)} value has no "
                "JSON form; write it as a string"
            )


__all__ = [
    "MANIFEST_SUFFIXES",
    "MAX_EXPANDED_NODES",
    "MAX_INPUT_BYTES",
    "STDIN",
    "Manifest",
    "Origin",
    "decode_manifest_bytes",
    "expand_path",
    "load_manifests",
    "parse_manifests",
    "read_manifest_file",
]
