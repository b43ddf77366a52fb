"""The checker's verdicts for a set of manifests, as text for people and JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webhook.check.manifests import Manifest, Origin
from webhook.errors import ExitCode
from webhook.policy.decision import Decision


@dataclass(frozen=True, slots=True)
class CheckedObject:
    """The engine's decision for one object and where the object was read from."""

    origin: Origin
    decision: Decision

    @classmethod
    def of(cls, manifest: Manifest, decision: Decision) -> CheckedObject:
        return cls(manifest.origin, decision)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every decision of one run: `results` for checked kinds, `skipped` for the rest."""

    results: tuple[CheckedObject, ...]
    skipped: tuple[CheckedObject, ...] = ()

    @property
    def denied(self) -> int:
        return sum(1 for r in self.results if not r.decision.allowed)

    @property
    def allowed(self) -> int:
        return len(self.results) - self.denied

    @property
    def warnings(self) -> int:
        return sum(len(r.decision.warnings) for r in self.results)

    @property
    def exit_code(self) -> ExitCode:
        """OK when every checked object is allowed, DENIED when any is denied."""
        return ExitCode.DENIED if self.denied else ExitCode.OK

    def summary(self) -> dict[str, int]:
        return {
            "checked": len(self.results),
            "allowed": self.allowed,
            "denied": self.denied,
            "skipped": len(self.skipped),
            "warnings": self.warnings,
        }


def build_report(checked: list[CheckedObject]) -> CheckReport:
    """Split decisions into checked results and skipped kinds, keeping input order."""
    return CheckReport(
        results=tuple(c for c in checked if c.decision.handled),
        skipped=tuple(c for c in checked if not c.decision.handled),
    )


# -- text -----------------------------------------------------------------------------


def render_text(report: CheckReport) -> str:
    """One line per checked object, its violations and warnings under it, then a summary.

    ``DENIED  ServiceEntry default/exfil (manifests/exfil.yaml:3)``
    """
    lines: list[str] = []
    for result in report.results:
        decision = result.decision
        verdict = "ALLOWED" if decision.allowed else "DENIED "
        note = " - namespace is exempt" if decision.exempt else ""
        lines.append(f"{verdict} {decision.object_ref} ({result.origin}){note}")
        for violation in decision.violations:
            where = f"{violation.field}: " if violation.field else ""
            lines.append(_indented(f"{where}{violation.message} [{violation.rule}]"))
        lines.extend(_indented(f"warning: {warning}") for warning in decision.warnings)
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def summary_line(report: CheckReport) -> str:
    """``3 objects checked: 2 allowed, 1 denied, 4 skipped`` (and warnings, if any)."""
    checked = len(report.results)
    line = (
        f"{checked} object{'s' if checked != 1 else ''} checked: {report.allowed} allowed, "
        f"{report.denied} denied, {len(report.skipped)} skipped"
    )
    if report.warnings:
        line += f", {report.warnings} warning{'s' if report.warnings != 1 else ''}"
    return line


def _indented(text: str) -> str:
    """A finding under its object; continuation lines of a multi-line message line up."""
    first, *rest = text.splitlines() or [""]
    return "\n".join([f"    {first}", *(f"      {line}" for line in rest)])


# -- JSON -----------------------------------------------------------------------------


def render_json(report: CheckReport) -> str:
    """One JSON document: ``{"results": [...], "skipped": [...], "summary": {...}}``."""
    document = {
        "results": [_result_json(r) for r in report.results],
        "skipped": [_reference_json(r) for r in report.skipped],
        "summary": report.summary(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _reference_json(result: CheckedObject) -> dict[str, Any]:
    decision = result.decision
    origin = result.origin
    reference: dict[str, Any] = {
        "kind": decision.kind,
        "namespace": decision.namespace,
        "name": decision.name,
        "source": str(origin),
        "file": origin.file,
        "line": origin.line,
        "document": origin.document,
    }
    if origin.item:
        reference["item"] = origin.item
    return reference


def _result_json(result: CheckedObject) -> Mapping[str, Any]:
    decision = result.decision
    return {
        **_reference_json(result),
        "allowed": decision.allowed,
        "exempt": decision.exempt,
        "violations": [
            {"rule": v.rule, "field": v.field, "message": v.message} for v in decision.violations
        ],
        "warnings": list(decision.warnings),
    }
