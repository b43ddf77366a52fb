"""existingViolations: an UPDATE that adds no violation to an old, non-compliant object."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import (
    RULES_POLICY,
    RULES_POLICY_YAML,
    tls_service_entry,
)
from webhook.policy.engine import evaluate

OLD = tls_service_entry("evil.example.org")


def test_an_update_adding_nothing_new_is_allowed_with_the_old_violations_as_warnings() -> None:
    new = tls_service_entry("evil.example.org")
    new["metadata"]["labels"] = {"team": "a"}
    decision = evaluate(new, RULES_POLICY, operation="UPDATE", old_object=OLD)
    assert decision.allowed
    assert any("existing violation" in w and "evil.example.org" in w for w in decision.warnings)


def test_an_update_adding_a_violation_is_denied() -> None:
    new = tls_service_entry("evil.example.org", hosts=["evil.example.org", "worse.example.org"])
    decision = evaluate(new, RULES_POLICY, operation="UPDATE", old_object=OLD)
    assert not decision.allowed
    assert "worse.example.org" in decision.message()


def test_create_and_deny_mode_ignore_the_old_object() -> None:
    assert not evaluate(OLD, RULES_POLICY).allowed
    strict = policy_from(RULES_POLICY_YAML + "existingViolations: deny\n")
    assert not evaluate(OLD, strict, operation="UPDATE", old_object=OLD).allowed


def _changed(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    for path, value in changes.items():
        where, _, key = path.rpartition("__")
        target = new
        for part in where.split("__") if where else ():
            target = target.setdefault(part, {})
        target[key] = value
    return new


_PRIVATE = tls_service_entry("evil.example.org", exportTo=["."])
_PASSTHROUGH: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "dr", "namespace": "default"},
    "spec": {"host": "legacy.default.svc.cluster.local",
             "workloadSelector": {"matchLabels": {"app": "legacy"}},
             "trafficPolicy": {"loadBalancer": {"simple": "PASSTHROUGH"}}},
}  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        # metadata only: labels, annotations and kubectl's bookkeeping Istio does not read
        (_PRIVATE, _changed(_PRIVATE, metadata__labels={"team": "a"}), True),
        (_PRIVATE, _changed(_PRIVATE, metadata__annotations={
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "argocd.argoproj.io/tracking-id": "app:networking.istio.io/ServiceEntry:default/se",
        }), True),
        # Helm upgrade (chart and app version labels) and Argo CD's default tracking label
        (_PRIVATE, _changed(_PRIVATE, metadata__labels={
            "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/version": "1.1.0",
            "helm.sh/chart": "egress-1.1.0", "app.kubernetes.io/instance": "egress",
            "app.kubernetes.io/part-of": "payments",
        }, metadata__annotations={
            "meta.helm.sh/release-name": "egress", "meta.helm.sh/release-namespace": "default",
            "kubernetes.io/change-cause": "kubectl apply --record=true",
        }), True),
        # Door: the old violation's (rule, field, message) is kept while the door widens:
        # exported to every namespace, another port, resolution NONE (any address on it)
        (_PRIVATE, _changed(_PRIVATE, spec__exportTo=["*"]), False),
        (_PRIVATE, _changed(_PRIVATE, spec__ports=[
            {"number": 22, "name": "ssh", "protocol": "TCP"}]), False),
        (_PRIVATE, _changed(_PRIVATE, spec__resolution="NONE"), False),
        # Door: PASSTHROUGH moved from one app's pods to every pod of the namespace
        (_PASSTHROUGH, _changed(_PASSTHROUGH, spec__workloadSelector={"matchLabels": {}}),
         False),
        # Door: a label Istio routes by, on an object that already violated
        (_PRIVATE, _changed(_PRIVATE, metadata__labels={"istio.io/rev": "canary"}), False),
        # the same object again is an update that changes nothing
        (_PASSTHROUGH, copy.deepcopy(_PASSTHROUGH), True),
    ],
    ids=["team-label", "bookkeeping-annotations", "helm-argocd-metadata", "export-widened",
         "port-swapped", "resolution-none", "passthrough-selector-widened", "istio-label",
         "unchanged"],
)  # fmt: skip
def test_only_an_update_leaving_what_istio_reads_keeps_the_old_violations(
    old: dict[str, Any], new: dict[str, Any], allowed: bool
) -> None:
    assert not evaluate(old, RULES_POLICY).allowed
    decision = evaluate(new, RULES_POLICY, operation="UPDATE", old_object=old)
    assert decision.allowed is allowed, decision.message()
