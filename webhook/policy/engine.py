"""evaluate(object, policy) -> Decision: parse one Istio object once, run every rule on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from webhook.policy.decision import Decision, Violation
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules import (
    export_scope,
    external_destinations,
    gateway_routing,
    mesh_routing,
    routing_labels,
    service_entry_endpoints,
    service_entry_hosts,
    service_entry_ports,
    service_entry_resolution,
    virtual_service_hosts,
)
from webhook.policy.subject import ServiceEntrySubject, Subject, VirtualServiceSubject
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS, ObjectMeta
from webhook.resources.service_entry import ServiceEntrySpec
from webhook.resources.virtual_service import VirtualServiceSpec

SCHEMA_RULE = "schema"

S = TypeVar("S", bound=Subject)
Rule = Callable[[S], Iterable[Violation]]

SERVICE_ENTRY_RULES: tuple[Rule[ServiceEntrySubject], ...] = (
    service_entry_hosts.check,
    service_entry_ports.check,
    service_entry_resolution.check,
    service_entry_endpoints.check,
    export_scope.check,
    routing_labels.check,
)
VIRTUAL_SERVICE_RULES: tuple[Rule[VirtualServiceSubject], ...] = (
    virtual_service_hosts.check,
    mesh_routing.check,
    gateway_routing.check,
    external_destinations.check,
    export_scope.check,
    routing_labels.check,
)
HANDLED_KINDS = frozenset({"ServiceEntry", "VirtualService"})


def is_handled(api_version: object, kind: object) -> bool:
    """True for ServiceEntry and VirtualService in networking.istio.io v1alpha3/v1beta1/v1."""
    # Either may be any JSON value (a mapping is unhashable): only strings are kinds.
    if not isinstance(api_version, str) or not isinstance(kind, str) or kind not in HANDLED_KINDS:
        return False
    group, _, version = api_version.rpartition("/")
    return group == ISTIO_NETWORKING_GROUP and version in ISTIO_NETWORKING_VERSIONS


def evaluate(
    obj: Mapping[str, Any], policy: CompiledPolicy, *, namespace: str | None = None
) -> Decision:
    """Decide whether the Kubernetes object `obj` complies with `policy`.

    `namespace` is where the object is created: the AdmissionRequest namespace, or the
    CLI's --namespace; it wins over metadata.namespace only when the latter is empty.
    Never raises for JSON-like input: a malformed object is a denial saying what is wrong.
    """
    raw_meta = obj.get("metadata")
    meta_map: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    kind = obj.get("kind")
    name = _text(meta_map.get("name")) or _text(meta_map.get("generateName"))
    ns = _text(meta_map.get("namespace")) or namespace or "default"
    kind_text = _text(kind)
    if not is_handled(obj.get("apiVersion"), kind):
        return Decision(kind=kind_text, namespace=ns, name=name, allowed=True, handled=False)
    if ns in policy.exempt_namespaces:
        return Decision(kind=kind_text, namespace=ns, name=name, allowed=True, exempt=True)

    violations: list[Violation] = []
    metadata = _parse(ObjectMeta, raw_meta or {}, "metadata", violations)
    spec_model: type[BaseModel] = ServiceEntrySpec if kind == "ServiceEntry" else VirtualServiceSpec
    spec = _parse(spec_model, obj.get("spec") or {}, "spec", violations)
    if metadata is not None and spec is not None:
        if isinstance(spec, ServiceEntrySpec):
            se = ServiceEntrySubject(kind_text, ns, name, metadata, policy, spec=spec)
            for se_rule in SERVICE_ENTRY_RULES:
                violations.extend(se_rule(se))
        else:
            assert isinstance(spec, VirtualServiceSpec)
            vs = VirtualServiceSubject.build(
                kind=kind_text, namespace=ns, name=name, metadata=metadata, policy=policy, spec=spec
            )
            for vs_rule in VIRTUAL_SERVICE_RULES:
                violations.extend(vs_rule(vs))
    return _decide(kind_text, ns, name, violations, policy)


def _decide(
    kind: str, namespace: str, name: str, findings: list[Violation], policy: CompiledPolicy
) -> Decision:
    # A route with several matches yields the same finding once per leg: say it once.
    findings = list(dict.fromkeys(findings))
    violations = tuple(f for f in findings if not f.advisory)
    advice = tuple(f.as_warning() for f in findings if f.advisory)
    rules_hit = tuple(dict.fromkeys(v.rule for v in violations))
    if policy.mode == "warn":
        return Decision(
            kind=kind,
            namespace=namespace,
            name=name,
            allowed=True,
            violations=violations,
            warnings=tuple(v.as_warning() for v in violations) + advice,
            rules_hit=rules_hit,
        )
    return Decision(
        kind=kind,
        namespace=namespace,
        name=name,
        allowed=not violations,
        violations=violations,
        warnings=advice,
        rules_hit=rules_hit,
    )


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: object, prefix: str, out: list[Violation]) -> M | None:
    """Validate `data` against `model`; on failure add one schema violation per error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = prefix + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]
            )
            message = (
                "unknown field: the webhook cannot verify what it does; remove it"
                if error["type"] == "extra_forbidden"
                else str(error["msg"])
            )
            out.append(Violation(SCHEMA_RULE, path, message))
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
