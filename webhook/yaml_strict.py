"""YAML read as the API server's decoder reads it: no duplicate keys, JSON keys, text timestamps.

Shared by the policy loader and the offline checker: a reader that saw a different
value than the API server (or than the operator who wrote the policy) could be
talked into a different verdict.
"""

from __future__ import annotations

from typing import Any

import yaml


class StrictLoader(yaml.SafeLoader):
    """SafeLoader reading YAML the way the API server's decoder does.

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


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


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
