"""Policy YAML -> Policy model; every problem reported as ``file:line: field.path: what``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.resolver import Resolver

from webhook.collector import collector_paused
from webhook.errors import PolicyInvalidError
from webhook.policy.index import CompiledPolicy
from webhook.policy.model import Policy
from webhook.yaml_plain import read_plain_mapping
from webhook.yaml_strict import MAX_NESTING, StrictLoader, nesting_exceeds


def load_policy(path: Path | str) -> CompiledPolicy:
    """Read, validate and index the policy file at `path`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalidError.unreadable(source, exc) from None
    return parse_policy(text, source)


#: Policy loads between two collections of what earlier loads froze (see collector_paused).
COMPACT_EVERY = 16


def parse_policy(text: str, source: str = "<policy>") -> CompiledPolicy:
    """Validate and index policy YAML (or JSON) `text`; `source` names it in error messages.

    The policy is kept (it serves until the next reload): the collector is paused while
    it is built and then never walks it again; every COMPACT_EVERY-th load first collects
    what the loads before it froze (see collector_paused).
    """
    with collector_paused(keep=True, compact_every=COMPACT_EVERY):
        return _parse_policy(text, source)


class _NotPlainJSONError(ValueError):
    """The text is not JSON that the YAML reader would read the same way."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _NotPlainJSONError(key)  # the YAML reader names both lines
        obj[key] = value
    return obj


def _yaml_float(token: str) -> float | str:
    """A JSON number with a fraction or exponent, as YAML 1.1 reads it (1e3 is a string)."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, token, (True, False))  # type: ignore[no-untyped-call]
    return float(token) if tag == "tag:yaml.org,2002:float" else token


def _not_plain_json(name: str) -> float:
    raise _NotPlainJSONError(name)


_RESOLVER = Resolver()
_JSON = json.JSONDecoder(
    object_pairs_hook=_json_object, parse_float=_yaml_float, parse_constant=_not_plain_json
)


def _json_data(text: str) -> Any:
    """The policy read as JSON when `text` is a JSON object, else None.

    JSON is YAML, and a machine-written allowlist of 100,000 entries reads about 10x
    faster this way. Anything the two readers could see differently (a duplicate key,
    NaN, invalid JSON, nesting too deep for json) returns None, and the YAML reader
    then reads it, refusing it or naming the line.
    """
    if not text.lstrip(" \t\r\n").startswith("{"):
        return None
    try:
        return _JSON.decode(text)
    except (ValueError, RecursionError):
        return None


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree of `text` (only to map errors to lines), or None."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


def _parse_policy(text: str, source: str) -> CompiledPolicy:
    # JSON, or the plain part of block YAML most policies are written in, read without
    # composing YAML nodes (3x faster); the nodes are composed only to place a problem.
    data = _json_data(text)
    if data is None:
        data = read_plain_mapping(text, MAX_NESTING)
    if isinstance(data, dict):
        try:
            policy = Policy.model_validate(data)
        except ValidationError as exc:
            raise PolicyInvalidError(source, _problems(exc, _compose(text), source)) from None
        return CompiledPolicy(policy)
    try:
        # The strict loader refuses duplicate keys: with the last copy silently winning,
        # a reviewer of the policy file could read a different allowlist than the one served.
        if nesting_exceeds(text):
            raise PolicyInvalidError(
                source, [f"{source}: nested more than {MAX_NESTING} levels deep"]
            )
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyInvalidError(source, [f"{where}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise PolicyInvalidError(
            source, [f"{source}:1: the policy must be a mapping with an allowlist, got {got}"]
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyInvalidError(source, _problems(exc, node, source)) from None
    return CompiledPolicy(policy)


def _problems(exc: ValidationError, root: yaml.Node | None, source: str) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        line = _line_of(root, loc)
        path = _dotted(loc)
        message = _explain(error)
        problems.append(f"{source}:{line}: {path or '(top level)'}: {message}")
    return problems


def _explain(error: Any) -> str:
    kind = error["type"]
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see the policy reference in README.md)"
    if kind == "literal_error":
        return f"{msg}, got {error.get('input')!r}"
    if kind == "missing":
        return "required field is missing"
    return msg


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """1-based line of the deepest YAML node on the path `loc`."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
