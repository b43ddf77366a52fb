"""evaluate(object, policy) -> Decision: parse one object once, run its kind's rules on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from webhook.collector import collector_paused
from webhook.policy.decision import Decision, Violation
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.registry import Registry
from webhook.policy.view import MeshView
from webhook.resources.base import ObjectMeta

SCHEMA_RULE = "schema"


def evaluate(
    obj: Mapping[str, Any],
    policy: CompiledPolicy,
    *,
    namespace: str | None = None,
    kinds: Registry = KINDS,
    view: MeshView | None = None,
    operation: str = "CREATE",
    old_object: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide whether the Kubernetes object `obj` complies with `policy`.

    `namespace` is where the object is created and, when given, it decides exemption and
    scope whatever metadata.namespace says: the server passes the AdmissionRequest's
    namespace (the API server's word, not the object's). Without it, metadata.namespace
    is used, then ``default``. Never raises for JSON-like input: a malformed object is a
    denial saying what is wrong.

    `view` is the live mesh (None: the object is judged alone, and checks that need the
    rest of the mesh, such as gateway coverage, are not made). `operation` is the
    admission operation; for DELETE, `obj` is the object being deleted and only its kind's
    delete rules run. `old_object` is the object an UPDATE replaces: with
    ``existingViolations: allow`` an update that adds no violation the old object did not
    already have and leaves what Istio reads unchanged (`_routes_alike`) is allowed, the
    old violations returned as warnings.
    """
    # A large object is held as a few thousand containers until its decision is made: the
    # cyclic collector would walk and promote them mid-evaluation (webhook/collector.py).
    with collector_paused():
        decision = _evaluate(obj, policy, namespace, kinds, view, operation, old_object)
        if (
            operation != "UPDATE"
            or old_object is None
            or decision.allowed
            or policy.policy.existing_violations != "allow"
            or not _routes_alike(obj, old_object, kinds)
        ):
            return decision
        before = _evaluate(old_object, policy, namespace, kinds, view, "CREATE", None)
    known = {(v.rule, v.field, v.message) for v in before.violations}
    if any((v.rule, v.field, v.message) not in known for v in decision.violations):
        return decision
    existing = tuple(
        f"existing violation, allowed because this update adds none "
        f"(existingViolations: allow): {v.as_warning()}"
        for v in decision.violations
    )
    return replace(decision, allowed=True, warnings=existing + decision.warnings)


#: Label and annotation domains Istio and Kubernetes route by (``networking.istio.io/exportTo``,
#: ``topology.istio.io/network``, ``istio.io/use-waypoint``, ``kubernetes.io/service-name``);
#: kubectl's own bookkeeping is not read by either, nor are the recommended
#: ``app.kubernetes.io/*`` labels that Helm charts and Argo CD's default tracking label
#: (``app.kubernetes.io/instance``) put on every object, or kubectl's
#: ``kubernetes.io/change-cause``: Istio reads ``app.kubernetes.io/name`` and ``version``
#: only from a proxy's own labels, for telemetry names (pkg/kube/labels/labels.go,
#: pilot/pkg/networking/core/tracing.go), as it reads ``app``.
_ROUTING_DOMAINS = ("istio.io", "kubernetes.io", "k8s.io")
_NOT_ROUTING = ("kubectl.kubernetes.io/", "app.kubernetes.io/", "kubernetes.io/change-cause")


def _routes_alike(new: Mapping[str, Any], old: Mapping[str, Any], kinds: Registry) -> bool:
    """True when an UPDATE leaves the object's body and its routing labels and annotations
    as they were: only then are the old object's violations the same doors.

    A violation names one field and value, not everything that decides how far it reaches:
    a ServiceEntry's non-allowlisted host keeps its message when the update widens its
    exportTo, swaps its ports or sets resolution NONE (which forwards to any address on
    the port), and a PASSTHROUGH DestinationRule when it changes its workloadSelector. The
    Pod Security admission plugin draws the line the same way: it re-judges any update
    that changes the pod spec, and lets only metadata updates through
    (pod-security-admission admission.go, isSignificantPodUpdate).
    """
    entry = kinds.lookup(new.get("apiVersion"), new.get("kind"))
    if entry is None or kinds.lookup(old.get("apiVersion"), old.get("kind")) is not entry:
        return False
    return entry.body_of(dict(new)) == entry.body_of(dict(old)) and all(
        _routing_metadata(new, field) == _routing_metadata(old, field)
        for field in ("labels", "annotations")
    )


def _routing_metadata(obj: Mapping[str, Any], field: str) -> dict[str, Any]:
    metadata = obj.get("metadata")
    found = metadata.get(field) if isinstance(metadata, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {
        key: value
        for key, value in found.items()
        if not isinstance(key, str)
        or (not key.startswith(_NOT_ROUTING) and key.partition("/")[0].endswith(_ROUTING_DOMAINS))
    }


def _evaluate(
    obj: Mapping[str, Any],
    policy: CompiledPolicy,
    namespace: str | None,
    kinds: Registry,
    view: MeshView | None,
    operation: str,
    old_object: Mapping[str, Any] | None,
) -> Decision:
    raw_meta = obj.get("metadata")
    meta_map: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    name = _text(meta_map.get("name")) or _text(meta_map.get("generateName"))
    ns = namespace or _text(meta_map.get("namespace")) or "default"
    kind_text = _text(obj.get("kind"))
    entry = kinds.lookup(obj.get("apiVersion"), obj.get("kind"))
    if entry is None:
        return Decision(kind=kind_text, namespace=ns, name=name, allowed=True, handled=False)
    if ns in policy.exempt_namespaces:
        return Decision(kind=kind_text, namespace=ns, name=name, allowed=True, exempt=True)

    violations: list[Violation] = []
    metadata = _parse(ObjectMeta, raw_meta or {}, "metadata", violations)
    body, prefix = entry.body_of(obj)
    spec = _parse(entry.model, body, prefix, violations)
    if operation == "DELETE" and violations:
        # Deleting an object the webhook cannot read is always allowed: it opens nothing.
        return Decision(kind=kind_text, namespace=ns, name=name, allowed=True)
    if metadata is not None and spec is not None:
        subject = entry.subject.build(
            kind=kind_text, namespace=ns, name=name, metadata=metadata, policy=policy, spec=spec
        )
        if view is not None or operation != "CREATE" or old_object is not None:
            subject = replace(subject, view=view, operation=operation, old_object=old_object)
        violations.extend(entry.check(subject))
    return _decide(kind_text, ns, name, violations, policy)


def _decide(
    kind: str, namespace: str, name: str, findings: list[Violation], policy: CompiledPolicy
) -> Decision:
    if not findings:  # most objects: nothing to sort into violations and advice
        return Decision(kind=kind, namespace=namespace, name=name, allowed=True)
    # A route with several matches yields the same finding once per leg: say it once.
    findings = list(dict.fromkeys(findings))
    violations = tuple(f for f in findings if not f.advisory)
    advice = tuple(f for f in findings if f.advisory)
    rules_hit = tuple(dict.fromkeys(v.rule for v in violations))
    warn = policy.mode == "warn"
    return Decision(
        kind=kind,
        namespace=namespace,
        name=name,
        allowed=warn or not violations,
        violations=violations,
        warnings=tuple(v.as_warning() for v in (*(violations if warn else ()), *advice)),
        rules_hit=rules_hit,
        advice=advice,
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
            out.append(Violation(SCHEMA_RULE, path.lstrip("."), message))
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
