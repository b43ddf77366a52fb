"""Plain block YAML (mappings, lists, one-line scalars) read line by line, without libyaml.

Reading YAML through PyYAML costs a node, two marks and several Python calls per value:
1.4 s for a 100,000-entry allowlist, of which libyaml's own parsing is 0.13 s. Most
policies (a generated allowlist above all) are written in a small, regular part of YAML:
block mappings and lists, one value per line, plain or simply quoted scalars, and flow
lists of those. That part is read here, a line at a time, into the values the strict
reader (webhook.yaml_strict) would build, about 3x faster.

Anything outside it (a tab, a non-ASCII character, an anchor, a tag, a block or multi-line
scalar, a flow mapping, a duplicate key, a key or value that YAML 1.1 reads as anything
but a string, a decimal integer, a boolean, a null or a timestamp, a line whose
indentation does not continue the structure above it, ...) makes `read_plain_mapping`
return None, and the caller reads the text with the strict reader, which builds it or
names the line of the error. So what is read here is always exactly what the strict
reader would have read, and a text this reader cannot read is never refused by it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.resolver import Resolver

from webhook.yaml_strict import MAX_NESTING

#: A plain scalar of letters, digits and ``_./-`` words (no indicator can start it, no
#: ``: `` or `` #`` can end it, nothing in it ends a flow list item).
_PLAIN = r"[A-Za-z0-9_./][A-Za-z0-9_./-]*(?: +[A-Za-z0-9_./-]+)*"
_PLAIN_SCALAR = re.compile(_PLAIN)
#: A flow list of plain scalars and of quoted ones without a comma or an escape.
_FLOW_ITEM = rf"""(?:{_PLAIN}|"[^"\\,]*"|'(?:[^',]|'')*')"""
_FLOW_LIST = re.compile(rf"\[ *(?:{_FLOW_ITEM}(?: *, *{_FLOW_ITEM})*)? *\]")

#: One line: its indentation, a list item's "- ", a plain key and the colon (followed by a
#: space or the end of the line), and what is left, trailing spaces aside. Printable ASCII
#: only: a tab, a carriage return, a non-ASCII character (the line breaks YAML knows besides
#: "\n" among them) is left to libyaml. A simple key is at most 1024 characters in YAML:
#: keys here are far shorter.
_LINE = re.compile(
    r"( *)(- +)?(?:([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: +|$))?"
    r"([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)? *"
)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL_VALUES = yaml.constructor.SafeConstructor.bool_values
_RESOLVER = Resolver()

#: Plain scalars repeat (keys, ports, protocols, namespaces): each text is resolved once.
_SCALARS: dict[str, Any] = {}
_FLOW_LISTS: dict[str, tuple[Any, ...]] = {}
_REMEMBERED_SIZE = 4096
_REMEMBERED_LENGTH = 64

#: Kinds of open collection, with the indentation of their keys or "- " indicators.
_MAPPING, _LIST, _INDENTLESS_LIST = 0, 1, 2


class _NotPlainError(Exception):
    """The text leaves the plain part of YAML: the strict reader must read it."""


def _remember(cache: dict[str, Any], text: str, value: Any) -> Any:
    if len(text) <= _REMEMBERED_LENGTH:
        if len(cache) >= _REMEMBERED_SIZE:
            cache.clear()
        cache[text] = value
    return value


def _scalar(text: str) -> Any:
    """The value of one scalar as the strict reader builds it (text is non-empty)."""
    value = _SCALARS.get(text, _SCALARS)
    if value is not _SCALARS:
        return value
    first = text[0]
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise _NotPlainError
        return inner
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise _NotPlainError
        return inner.replace("''", "'")
    if _PLAIN_SCALAR.fullmatch(text) is None:
        raise _NotPlainError
    # A plain scalar's type is YAML 1.1's, by its text (quoted ones are always strings).
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag in (_STR, _TIMESTAMP):  # timestamps stay text, as the strict reader keeps them
        value = text
    elif tag == _INT and text.isdigit() and text[0] != "0":
        value = int(text)
    elif tag == _BOOL:
        value = _BOOL_VALUES[text.lower()]
    elif tag == _NULL:
        value = None
    else:  # octal, hexadecimal or sexagesimal integers, floats, merge and value keys
        raise _NotPlainError
    return _remember(_SCALARS, text, value)


def _value(text: str) -> Any:
    """The value written after a key or a "- " (text is non-empty, not a comment)."""
    comment = text.find(" #")  # YAML starts a comment only after a space
    if comment != -1:
        text = text[:comment].rstrip(" ")  # (a quoted " #" leaves an unclosed quote: refused)
    if text[0] == "[":
        items = _FLOW_LISTS.get(text)
        if items is None:
            if _FLOW_LIST.fullmatch(text) is None:
                raise _NotPlainError
            inner = text[1:-1].strip(" ")
            items = tuple(_scalar(item.strip(" ")) for item in inner.split(",")) if inner else ()
            _remember(_FLOW_LISTS, text, items)
        return list(items)
    if text == "{}":
        return {}
    return _scalar(text)


def read_plain_mapping(text: str, limit: int = MAX_NESTING) -> dict[str, Any] | None:
    """The mapping `text` holds, or None when the text leaves the plain part of YAML.

    None as well for a text that holds no mapping, or nests more than `limit` levels (so
    what is read here never needs a nesting check). See the module's docstring.
    """
    root: dict[str, Any] = {}
    # Open collections, innermost last: (indentation, the collection, its kind).
    stack: list[tuple[int, Any, int]] = [(0, root, _MAPPING)]
    # The last key with nothing after its colon: its value is on the lines below (or null).
    pending: tuple[dict[str, Any], str, int] | None = None
    line_parts = _LINE.fullmatch
    scalars = _SCALARS
    try:
        for line in text.split("\n"):
            parts = line_parts(line)
            if parts is None:
                raise _NotPlainError
            indentation, dash, key, rest = parts.groups()
            if dash is None and key is None:
                if not rest or rest[0] == "#":
                    continue  # a blank line or a comment
                raise _NotPlainError  # a scalar on a line of its own, "---", "...", "? "
            column = len(indentation)
            if pending is not None:
                mapping, pending_key, key_column = pending
                pending = None
                if column > key_column or (column == key_column and dash):
                    if len(stack) >= limit - 1:
                        raise _NotPlainError
                    child: Any
                    if dash:
                        # a list under a key may be indented like the key (an "indentless" one)
                        kind = _INDENTLESS_LIST if column == key_column else _LIST
                        child = []
                    else:
                        kind = _MAPPING
                        child = {}
                    mapping[pending_key] = child
                    stack.append((column, child, kind))
            top = stack[-1]
            while top[0] > column or (top[0] == column and top[2] == _INDENTLESS_LIST and not dash):
                stack.pop()
                top = stack[-1]
            if top[0] != column:
                raise _NotPlainError  # deeper than any open collection: continued text
            if dash:
                if top[2] == _MAPPING:
                    raise _NotPlainError
                if key is None:
                    if not rest or rest[0] == "#":
                        raise _NotPlainError  # an item on the lines below
                    top[1].append(_value(rest))
                    continue
                if len(stack) >= limit - 1:
                    raise _NotPlainError
                mapping = {}
                top[1].append(mapping)
                column += len(dash)
                stack.append((column, mapping, _MAPPING))
            elif top[2] != _MAPPING:
                raise _NotPlainError
            else:
                mapping = top[1]
            if key in mapping or (scalars.get(key) != key and _scalar(key) != key):
                raise _NotPlainError  # a duplicate, or a key YAML reads as a boolean or null
            if not rest:
                mapping[key] = None
                pending = (mapping, key, column)
            elif rest[0] == "#":
                raise _NotPlainError
            else:
                mapping[key] = _value(rest)
    except _NotPlainError:
        return None
    return root if root else None
