"""Where a field is written: a field path (``spec.http[0].route[1].destination.host``) to its line.

Findings name the offending field by path; reports (SARIF for code scanning, the suite
runner's problems) point at the line of that field, not of the object holding it. The
YAML reader keeps each object's node, whose marks know every line. A path that leaves
the written YAML (a default, a key spelled through a merge key) stops at the deepest
field that is written, so the line is always one the reader can find.
"""

from __future__ import annotations

import yaml


def line_of_path(root: yaml.Node | None, path: str, default: int) -> int:
    """1-based line of the deepest node of `root` along `path`; `default` without a node.

    `path` is written as the engine writes field paths: keys joined by ``.``, list
    indexes in brackets. Keys may contain dots themselves (labels such as
    ``istio.io/use-waypoint``): the longest key that fits the path is taken.
    """
    if root is None:
        return default
    return _walk(root, path)[1]


def node_at_path(root: yaml.Node, path: str) -> yaml.Node | None:
    """The node written at exactly `path` under `root`, or None when it is not written."""
    node, _, rest = _walk(root, path)
    return None if rest else node


def _walk(root: yaml.Node, path: str) -> tuple[yaml.Node, int, str]:
    """The deepest node along `path`, the line to report for it, and the path not found."""
    node, line = root, root.start_mark.line + 1
    rest = path
    while rest:
        step = _step(node, rest)
        if step is None:
            break
        node, line, rest = step
        rest = rest.removeprefix(".")
    return node, line, rest


def _step(node: yaml.Node, rest: str) -> tuple[yaml.Node, int, str] | None:
    """The child `rest` starts with, the line to report for it, and what is left of `rest`."""
    if rest.startswith("["):
        close = rest.find("]")
        index = rest[1:close] if close > 0 else ""
        if not isinstance(node, yaml.SequenceNode) or not index.isdigit():
            return None
        if int(index) >= len(node.value):
            return None
        child = node.value[int(index)]
        return child, child.start_mark.line + 1, rest[close + 1 :]
    if not isinstance(node, yaml.MappingNode):
        return None
    best: tuple[yaml.Node, yaml.Node] | None = None
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if not isinstance(name, str) or not _heads(rest, name):
            continue
        if best is None or len(name) > len(best[0].value):
            best = (key, value)
    if best is None:
        return None
    key, value = best
    # The key's line: a nested mapping's value starts on the line after its key.
    return value, key.start_mark.line + 1, rest[len(key.value) :]


def _heads(path: str, key: str) -> bool:
    """Whether `key` is the whole first segment of `path`."""
    return path.startswith(key) and (len(path) == len(key) or path[len(key)] in ".[")


def dotted(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a field path: ``cases[0].expect[1].verdict``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
