"""Schema parity: the resource models admit every field of the CRDs the e2e suite installs.

The models refuse unknown fields (the `schema` rule) so that a field the webhook has not
judged cannot hide a route; the cost is that a field a newer Istio or Gateway API release
adds denies ordinary objects. For every registered kind and every version its CRD serves,
objects built from the CRD's openAPIV3Schema must pass the models: one holding every
property (recursively; each enum value in turn; int-or-string as an int and as a string;
a field's proto name instead of its JSON name where the CRD lists both, as it does for
RequestAuthentication's ``jwks_uri``), and one holding every object but only the required
scalars. A `schema` violation is a field the CRD has and a model refuses: add it to the
model, and judge it if it can send traffic somewhere.

Only the CRD files build.sh fetches are read (the `toolchain` fixture): no cluster starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import Toolchain
from webhook.policy.engine import SCHEMA_RULE, evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.registry import ENVELOPE, Kind

#: Groups the API server serves itself: their kinds have no CRD to compare with.
BUILT_IN_GROUPS = frozenset({"", "discovery.k8s.io"})
CRD_KINDS = [k for k in KINDS if k.group not in BUILT_IN_GROUPS]

#: A string field's value by its name: what the models' validators accept for durations,
#: CIDRs, addresses, hosts, group and kind references and paths.
_BY_NAME = (
    (re.compile(r"timeout|interval|duration|ttl|time$", re.IGNORECASE), "1s"),
    (re.compile(r"cidr", re.IGNORECASE), "10.0.0.0/8"),
    (re.compile(r"address|^ip$", re.IGNORECASE), "10.0.0.1"),
    (re.compile(r"host|sni", re.IGNORECASE), "example.com"),
    (re.compile(r"group", re.IGNORECASE), ""),
    (re.compile(r"kind", re.IGNORECASE), "Service"),
    (re.compile(r"path|prefix", re.IGNORECASE), "/"),
)
_BY_FORMAT = {
    "ipv4": "10.0.0.1",
    "ipv6": "fd00::1",
    "hostname": "example.com",
    "uri": "https://example.com/",
}
_SAMPLE_KEY = "example.com"


@dataclass(frozen=True)
class Variant:
    """How to fill a schema: which enum value, which int-or-string form, which field names."""

    enum_index: int = 0
    int_or_string_as_string: bool = False
    proto_names: bool = False
    sparse: bool = False  # every object, only required scalars


def _load_crds(*paths: Path) -> dict[tuple[str, str], dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crds = {}
    for path in paths:
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                crds[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    return crds


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _string(schema: dict[str, Any], name: str, variant: Variant) -> str:
    if enum := schema.get("enum"):
        values = [v for v in enum if v] or enum
        return str(values[variant.enum_index % len(values)])
    if (fmt := schema.get("format")) in _BY_FORMAT:
        return _BY_FORMAT[fmt]
    return next((value for pattern, value in _BY_NAME if pattern.search(name)), "example")


def _instance(schema: dict[str, Any] | None, name: str, variant: Variant) -> Any:
    """A value of `schema`: every property present (recursively), unless sparse."""
    schema = schema or {}
    kind = schema.get("type")
    if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
        return {} if kind == "object" else "x"  # free-form: nothing to compare
    if schema.get("x-kubernetes-int-or-string"):
        return "http" if variant.int_or_string_as_string else 8080
    if kind == "object" or "properties" in schema:
        props: dict[str, Any] = schema.get("properties") or {}
        if not props:
            extra = schema.get("additionalProperties")
            return {_SAMPLE_KEY: _instance(extra, name, variant)} if isinstance(extra, dict) else {}
        required = set(schema.get("required") or ())
        # protojson reads a field's proto name and its JSON name alike; a CRD listing both
        # forbids setting both (CEL), so a variant sets one or the other.
        proto_names = {key for key in props if "_" in key and _camel(key) in props}
        left_out = {_camel(k) for k in proto_names} if variant.proto_names else proto_names
        out = {}
        for key, sub in props.items():
            if key in left_out:
                continue
            nested = sub.get("type") in ("object", "array") or "properties" in sub
            if variant.sparse and key not in required and not nested:
                continue
            out[key] = _instance(sub, key, variant)
        return out
    if kind == "array":
        return [_instance(schema.get("items"), name, variant)]
    if kind == "string":
        return _string(schema, name, variant)
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return "x"


def _variants(crd: dict[str, Any]) -> Iterator[Variant]:
    widest = max((len(values) for values in _enums(crd)), default=1)
    for index in range(widest):
        for as_string in (False, True):
            for proto_names in (False, True):
                yield Variant(index, as_string, proto_names)
        yield Variant(index, sparse=True)


def _enums(node: Any) -> Iterator[list[Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


def _served(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}


@pytest.fixture(scope="module")
def crds(toolchain: Toolchain) -> dict[tuple[str, str], dict[str, Any]]:
    """The Istio and Gateway API CRDs the e2e cluster installs, by (group, kind)."""
    return _load_crds(toolchain.istio_crds, toolchain.gateway_api_crds)


@pytest.mark.parametrize("kind", CRD_KINDS, ids=[f"{k.kind}.{k.group}" for k in CRD_KINDS])
def test_every_field_of_every_served_version_is_admitted(
    kind: Kind[Any], crds: dict[tuple[str, str], dict[str, Any]], example_policy: CompiledPolicy
) -> None:
    crd = crds.get((kind.group, kind.kind))
    assert crd is not None, f"no CRD for {kind.kind}.{kind.group} in the installed CRD files"
    refused: dict[str, None] = {}
    for version, served in _served(crd).items():
        root = served["schema"]["openAPIV3Schema"]
        body_schemas = {
            key: sub
            for key, sub in (root.get("properties") or {}).items()
            if key not in ENVELOPE and key != "status"
        }
        for variant in _variants(crd):
            obj = {
                "apiVersion": f"{kind.group}/{version}",
                "kind": kind.kind,
                "metadata": {"name": "every-field", "namespace": "schema-parity"},
                **{key: _instance(sub, key, variant) for key, sub in body_schemas.items()},
            }
            decision = evaluate(obj, example_policy)
            assert decision.handled, f"{kind.kind} {version} is served but not handled"
            for v in decision.violations:
                if v.rule == SCHEMA_RULE:
                    field = re.sub(r"\[\d+\]", "[]", v.field)
                    refused[f"{kind.kind} {version} {field}: {v.message}"] = None
    assert not refused, (
        "fields the CRD has and the model refuses (add each to webhook/resources/, and judge "
        "it if it can route traffic):\n" + "\n".join(refused)
    )


@pytest.mark.parametrize("kind", CRD_KINDS, ids=[f"{k.kind}.{k.group}" for k in CRD_KINDS])
def test_every_served_version_is_registered(
    kind: Kind[Any], crds: dict[tuple[str, str], dict[str, Any]]
) -> None:
    crd = crds.get((kind.group, kind.kind))
    assert crd is not None, f"no CRD for {kind.kind}.{kind.group} in the installed CRD files"
    assert set(_served(crd)) == set(kind.versions)
