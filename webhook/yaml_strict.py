"""YAML read as the API server's decoder reads it: no duplicate keys, JSON keys, text timestamps.

Shared by the policy loader and the offline checker: a reader that saw a different
value than the API server (or than the operator who wrote the policy) could be
talked into a different verdict.
"""

from __future__ import annotations

import logging
from typing import Any

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


class StrictConstructor(yaml.constructor.SafeConstructor):
    """SafeConstructor building what the API server's decoder would see.

    Refuses duplicate keys (naming both lines), turns scalar keys into the strings JSON
    would use, and keeps timestamps as the strings they were written as.
    """

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


class PureStrictLoader(Reader, Scanner, Parser, Composer, StrictConstructor, Resolver):
    """The strict loader on PyYAML's pure-Python parser (about 10x slower than libyaml)."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        StrictConstructor.__init__(self)
        Resolver.__init__(self)


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class CStrictLoader(CParser, StrictConstructor, Resolver):
        """The strict loader on libyaml's parser and composer: the same nodes and marks."""

        def __init__(self, stream: str | bytes) -> None:
            CParser.__init__(self, stream)
            StrictConstructor.__init__(self)
            Resolver.__init__(self)

    StrictLoader: type[PureStrictLoader] | type[CStrictLoader] = CStrictLoader
    _EventParser: type[CParser] | type[PureStrictLoader] = CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    log.warning(
        "PyYAML has no libyaml bindings: reading YAML with the pure-Python parser, about "
        "10x slower (install PyYAML wheels, or libyaml-dev before building PyYAML)"
    )
    StrictLoader = PureStrictLoader
    _EventParser = PureStrictLoader


def nesting_exceeds(text: str, limit: int = MAX_NESTING) -> bool:
    """True when some mapping or list in `text` nests deeper than `limit` levels.

    Block nesting needs indentation or inline indicators, so it is at most a line's
    length; flow nesting at most the number of brackets. When neither bound can reach
    `limit` (almost every manifest), nothing is parsed; otherwise the parser's event
    stream, which libyaml produces without recursion, is counted.
    """
    longest_line = max(map(len, text.splitlines()), default=0)
    if longest_line + text.count("[") + text.count("{") <= limit:
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
    except yaml.YAMLError:
        return False  # not valid YAML: composing will say where
    finally:
        parser.dispose()
    return False


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
