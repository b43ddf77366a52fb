"""Decisions -> wgpolicyk8s.io/v1alpha2 PolicyReports: one per namespace, bounded in size.

Each audited object gives one result per violation (``fail``; ``warn`` when the policy is
in warn mode), one per advisory finding (``warn``), or a single ``pass`` when it has
neither; an object in an exempt namespace is a ``skip``. Results carry no timestamp, so
an unchanged namespace yields an identical report and the writer leaves it alone.

A report keeps at most `max_results` results, failures first, then warnings, then
passes and skips, so what is dropped is the least useful; `summary` still counts every
result, and the annotation RESULTS_OMITTED says how many were left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from webhook.reports.audit import Audited

API_VERSION = "wgpolicyk8s.io/v1alpha2"
KIND = "PolicyReport"
GROUP, VERSION, PLURAL = "wgpolicyk8s.io", "v1alpha2", "policyreports"
#: The report's name in every namespace, and the `policy` of every result.
POLICY = "egress-webhook"
#: Selects the reports this webhook owns (and may delete when a namespace empties).
MANAGED_BY = {"app.kubernetes.io/managed-by": "egress-webhook"}
RESULTS_OMITTED = "egress-webhook.io/results-omitted"
#: A PolicyReport is one etcd object (1.5 MiB at most): 500 results of under ~1.2 KiB each.
DEFAULT_MAX_RESULTS = 500
MAX_MESSAGE_CHARS = 600
#: Rule of the one result an object that passes every rule gets.
COMPLIANT_RULE = "egress-policy"
SEVERITY = {"fail": "high", "warn": "medium", "pass": "info", "skip": "info"}
_ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}
_RULE_SUFFIX = re.compile(r"\s\[([a-z0-9-]+)\]$")


def results_of(audited: Audited) -> list[dict[str, Any]]:
    """The PolicyReport results of one object."""
    decision = audited.decision
    reference = _reference(audited)
    if decision.exempt:
        return [_result("skip", COMPLIANT_RULE, "the namespace is exempt", reference)]
    failed = "warn" if decision.allowed else "fail"
    results = [
        _result(failed, v.rule, v.message, reference, field=v.field) for v in decision.violations
    ]
    repeated = {v.as_warning() for v in decision.violations}
    for warning in decision.warnings:
        if warning not in repeated:
            found = _RULE_SUFFIX.search(warning)
            rule = found.group(1) if found else COMPLIANT_RULE
            results.append(_result("warn", rule, warning, reference))
    if not results:
        message = f"{decision.object_ref} complies with the egress policy"
        results.append(_result("pass", COMPLIANT_RULE, message, reference))
    return results


def policy_reports(
    audited: Iterable[Audited], *, max_results: int = DEFAULT_MAX_RESULTS
) -> dict[str, dict[str, Any]]:
    """One PolicyReport per namespace holding audited objects, keyed by namespace."""
    by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in audited:
        if item.decision.handled:
            by_namespace[item.decision.namespace].extend(results_of(item))
    return {
        ns: report(ns, results, max_results=max_results)
        for ns, results in sorted(by_namespace.items())
    }


def report(
    namespace: str, results: list[dict[str, Any]], *, max_results: int = DEFAULT_MAX_RESULTS
) -> dict[str, Any]:
    """The PolicyReport of `namespace`: its results, bounded, and the summary of all of them."""
    summary = {"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0}
    for result in results:
        summary[result["result"]] += 1
    kept = sorted(results, key=lambda r: _ORDER[r["result"]])[:max_results]
    metadata: dict[str, Any] = {"name": POLICY, "namespace": namespace, "labels": dict(MANAGED_BY)}
    if len(results) > len(kept):
        metadata["annotations"] = {RESULTS_OMITTED: str(len(results) - len(kept))}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "summary": summary,
        "results": kept,
    }


def _reference(audited: Audited) -> dict[str, str]:
    decision = audited.decision
    reference = {
        "apiVersion": str(audited.obj.get("apiVersion") or audited.kind.api_version),
        "kind": decision.kind,
        "namespace": decision.namespace,
        "name": decision.name,
    }
    if audited.uid:
        reference["uid"] = audited.uid
    return reference


def _result(
    outcome: str, rule: str, message: str, reference: dict[str, str], *, field: str = ""
) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 4] + " ..."
    result: dict[str, Any] = {
        "policy": POLICY,
        "rule": rule,
        "result": outcome,
        "severity": SEVERITY[outcome],
        "source": POLICY,
        "category": "egress",
        "message": message,
        "resources": [reference],
    }
    if field:
        result["properties"] = {"field": field}
    return result


def violations_by_rule(audited: Iterable[Audited]) -> dict[tuple[str, str], int]:
    """(namespace, rule) -> violations found (advisory findings not counted)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for item in audited:
        for violation in item.decision.violations:
            counts[(item.decision.namespace, violation.rule)] += 1
    return dict(counts)
