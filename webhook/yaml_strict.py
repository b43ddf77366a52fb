"""YAML read as the API server's decoder reads it: no duplicate keys, JSON keys, text timestamps.

Shared by the policy loader and the offline checker: a reader that saw a different
value than the API server (or than the operator who wrote the policy) could be
talked into a different verdict.
"""

from __future__ import annotations

import logging
import operator
import re
from typing import Any, ClassVar

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

log = logging.getLogger("webhook.yaml")

#: Deepest nesting of mappings and lists read. Kubernetes objects nest a few dozen levels;
#: libyaml's composer recurses in C and overflows the stack (a crash, not an exception)
#: somewhere past 10,000, so depth is measured before composing.
MAX_NESTING = 1000


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR = yaml.ScalarNode
_SEQUENCE = yaml.SequenceNode
_MAPPING = yaml.MappingNode

#: Plain scalars resolve by their text alone (no path resolvers are registered), and a
#: manifest repeats the same keys and small values all over: resolved once per text.
_RESOLVED_SIZE = 4096
_RESOLVED_LENGTH = 64


class _GeneralPathError(Exception):
    """The document needs SafeConstructor's general machinery (merge keys, deep nesting)."""


class StrictConstructor(yaml.constructor.SafeConstructor):
    """SafeConstructor building what the API server's decoder would see.

    Refuses duplicate keys (naming both lines), turns scalar keys into the strings JSON
    would use, and keeps timestamps as the strings they were written as.

    A document without anchors (no ``&`` anywhere in the text, so no alias can share a
    node) is built by one direct walk of its nodes: plain strings, decimal integers,
    booleans, nulls, lists and mappings in place, anything else (other tags, floats,
    octal or hex integers) by SafeConstructor itself, and merge keys or very deep
    nesting by the general path for the whole document. Same values, same errors in the
    same order; about 5x faster than SafeConstructor's state machine.
    """

    #: True when the text may hold anchors (set by the loaders from their stream).
    aliases_possible = True

    def note_stream(self, stream: str | bytes) -> None:
        """Remember whether `stream` can hold an anchor (and so any alias)."""
        self.aliases_possible = ("&" in stream) if isinstance(stream, str) else (b"&" in stream)

    def construct_document(self, node: yaml.Node) -> Any:
        if not self.aliases_possible:
            try:
                return self._build(node)
            except (_GeneralPathError, RecursionError):
                pass  # built again below, from scratch, by SafeConstructor
            finally:
                self.constructed_objects = {}
                self.recursive_objects = {}
        return super().construct_document(node)

    def _build(self, node: yaml.Node) -> Any:
        """The value of `node`, recursively; only for documents without aliases."""
        tag = node.tag
        cls = node.__class__
        if cls is _SCALAR:
            value = node.value
            if tag in (_STR, _TIMESTAMP):
                return value
            if tag == _INT and value.isascii() and value.isdigit() and value[0] != "0":
                return int(value)
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return self.bool_values[value.lower()]
        elif cls is _SEQUENCE and tag == _SEQ:
            build = self._build
            return [build(child) for child in node.value]
        elif cls is _MAPPING and tag == _MAP:
            # Keys first, as construct_mapping does: a duplicate is reported before any
            # problem in the values.
            pairs = node.value
            mapping: dict[str, Any] = {}
            for index, (key_node, _) in enumerate(pairs):
                key_tag = key_node.tag
                if key_tag == _STR and key_node.__class__ is _SCALAR:
                    key = key_node.value  # a plain or quoted string key: the common case
                elif key_tag == _MERGE:
                    raise _GeneralPathError
                else:
                    key = json_key(self._build(key_node), key_node)
                if key in mapping:
                    first = pairs[mapping[key]][0].start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f'mapping key "{key}" already defined at line {first}',
                        key_node.start_mark,
                    )
                mapping[key] = index
            build = self._build
            for key, index in mapping.items():
                mapping[key] = build(pairs[index][1])
            return mapping
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged in with << may be overridden: that is their purpose
            key = json_key(self.construct_object(key_node, deep=True), key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'mapping key "{key}" already defined at line {seen[key]}',
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        # Built here rather than by SafeConstructor, whose dict would merge keys that
        # Python finds equal but JSON does not (1 and true, 0 and false).
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = json_key(self.construct_object(key_node, deep=deep), key_node)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _construct_timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


StrictConstructor.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


class FastResolver(Resolver):
    """PyYAML's resolver, with plain scalars' tags remembered by text.

    The composer asks for the tag of every node. No path resolvers are registered, so
    a quoted scalar, a list and a mapping always get the default tag, and a plain
    scalar's tag depends on its text alone; descending the path is a no-op. The C
    composer asks twice per node whether to descend and ascend: the answers are bound
    to builtins that do nothing, the cheapest call there is.
    """

    _resolved: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        super().__init__()
        if self.yaml_path_resolvers:  # pragma: no cover - none are registered
            raise TypeError("FastResolver assumes that no YAML path resolvers are registered")
        # called as descend_resolver(parent, index) and ascend_resolver() per node
        self.descend_resolver = operator.is_  # type: ignore[assignment]
        self.ascend_resolver = self._resolved.__len__  # type: ignore[assignment]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return _SEQ if kind is yaml.SequenceNode else _MAP
        if not implicit[0]:
            return _STR
        tag = self._resolved.get(value)
        if tag is None:
            tag = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
            if len(value) <= _RESOLVED_LENGTH:
                if len(self._resolved) >= _RESOLVED_SIZE:
                    self._resolved.clear()
                self._resolved[value] = tag
        return tag


class PureStrictLoader(Reader, Scanner, Parser, Composer, StrictConstructor, FastResolver):
    """The strict loader on PyYAML's pure-Python parser (about 10x slower than libyaml)."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        StrictConstructor.__init__(self)
        FastResolver.__init__(self)
        self.note_stream(stream)


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class CStrictLoader(CParser, StrictConstructor, FastResolver):
        """The strict loader on libyaml's parser and composer: the same nodes and marks."""

        def __init__(self, stream: str | bytes) -> None:
            CParser.__init__(self, stream)
            StrictConstructor.__init__(self)
            FastResolver.__init__(self)
            self.note_stream(stream)

    StrictLoader: type[PureStrictLoader] | type[CStrictLoader] = CStrictLoader
    _EventParser: type[CParser] | type[PureStrictLoader] = CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    log.warning(
        "PyYAML has no libyaml bindings: reading YAML with the pure-Python parser, about "
        "10x slower (install PyYAML wheels, or libyaml-dev before building PyYAML)"
    )
    StrictLoader = PureStrictLoader
    _EventParser = PureStrictLoader


#: How libyaml (from PyYAML 6.0.4's wheels on) says a document nests past its own limit.
_LIBYAML_NESTING = "maximum nesting depth"


def nesting_exceeds(text: str, limit: int = MAX_NESTING) -> bool:
    """True when some mapping or list in `text` nests deeper than `limit` levels.

    Block nesting needs indentation or inline indicators, so it is at most a line's
    length. Flow nesting is bounded by `_flow_depth_bound`: the most brackets opened on
    one line when every flow collection provably closes on the line it opens (almost
    every manifest and policy, `ports: [80, 443]` included), else the number of brackets
    in the text. When the bound cannot reach `limit`, nothing is parsed; otherwise the
    parser's event stream, which libyaml produces without recursion, is counted.
    """
    longest_line = max(map(len, text.splitlines()), default=0)
    if longest_line + _flow_depth_bound(text) <= limit:
        return False
    parser = _EventParser(text)
    depth = 0
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        # libyaml 0.2.5 as PyYAML 6.0.4 bundles it stops at its own nesting limit: that is
        # this answer, said the same way; anything else is not valid YAML, which
        # composing will place
        return _LIBYAML_NESTING in str(getattr(exc, "problem", None) or exc)
    finally:
        parser.dispose()
    return False


#: What can decide a line's flow depth: brackets, and what can make a bracket text
#: rather than structure (a quote, a comment); line breaks as str.splitlines knows them.
_NOT_SHAPE = re.compile("[^\\[\\]{}#\"'\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
_BRACKETS = frozenset("[]{}")
_NOT_STRUCTURE = frozenset("#\"'")
#: The one-collection lines of every day: `key: [a, b]`, `key: {}`.
_BALANCED_PAIR = frozenset(("[]", "{}"))


def _flow_depth_bound(text: str) -> int:
    """An upper bound on how deeply flow collections (``[...]``, ``{...}``) nest in `text`.

    When every line that holds a bracket holds no quote and no ``#`` and its brackets
    balance left to right (``protocols: [TLS, HTTPS]``), every flow collection closes
    on the line it opens: after a real opening bracket the rest of that line can hold
    no quoted text and no comment, and a flow context holds no plain bracket, so every
    bracket after it is structure, and the line's balance closes it. Flow depth then
    never carries over a line break, and the most brackets opened on one line bound it.
    A bracket in a block scalar or a quoted string only makes the bound larger. Any
    other text gets the total number of opening brackets.

    Lines are reduced to their shapes (brackets, quotes, ``#``) first; a manifest has
    a handful of distinct shapes however long it is.
    """
    openers = text.count("[") + text.count("{")
    if not openers and not (text.count("]") + text.count("}")):
        return 0
    most = 0
    shapes = set(_NOT_SHAPE.sub("", text).splitlines())
    for shape in shapes:
        if _BRACKETS.isdisjoint(shape):
            continue
        if shape in _BALANCED_PAIR:
            most = max(most, 1)
            continue
        if not _NOT_STRUCTURE.isdisjoint(shape):
            return openers
        depth = opened = 0
        for char in shape:
            if char in "[{":
                depth += 1
                opened += 1
            else:
                depth -= 1
                if depth < 0:
                    return openers
        if depth:
            return openers
        most = max(most, opened)
    return most


def json_key(key: object, node: yaml.Node) -> str:
    """The JSON object key the API server would see for the YAML key `key`."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int | float):
        return str(key)
    if key is None:
        return "null"
    raise yaml.constructor.ConstructorError(
        None, None, f"a mapping key must be a string, got {describe_value(key)}", node.start_mark
    )


def describe_value(value: object) -> str:
    """ "a mapping", "a list", "a number" ... for messages."""
    if value is None:
        return "null"
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


class NestingError(yaml.YAMLError):
    """A document nests deeper than MAX_NESTING levels."""


def load_document(text: str) -> tuple[Any, yaml.Node | None]:
    """The one YAML document in `text`, strictly read, and its node (with line marks).

    Raises yaml.YAMLError (NestingError past MAX_NESTING levels); an empty text is
    ``(None, None)``.
    """
    if nesting_exceeds(text):
        raise NestingError(f"nested more than {MAX_NESTING} levels deep")
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node


def yaml_problem(exc: yaml.YAMLError, source: str) -> str:
    """``file:line: not valid YAML: what`` for a YAML error of `source`."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    if isinstance(exc, NestingError):
        return f"{where}: {exc}"
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: not valid YAML: {problem}"
