"""The checker's verdicts for a set of manifests, as text for people and JSON for machines.

SARIF and JUnit renderings of the same report live in `sarif.py` and `junit.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from webhook.check.locate import line_of_path
from webhook.check.manifests import Manifest, Origin
from webhook.errors import ExitCode
from webhook.policy.decision import Decision, Violation

#: What makes `check` exit 1: a denied object (as the cluster), or also any warning.
FailOn = Literal["denied", "warnings"]
FAIL_ON: tuple[FailOn, ...] = ("denied", "warnings")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found on an object, once: an error (denies) or a warning (allowed)."""

    level: Literal["error", "warning"]
    violation: Violation
    #: 1-based line of the offending field in the input (the object's line for JSON).
    line: int


@dataclass(frozen=True, slots=True)
class CheckedObject:
    """The engine's decision on one object, where it was read from, and its fields' lines."""

    origin: Origin
    decision: Decision
    #: Field path -> line, for every field a finding names (filled by `of`).
    field_lines: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, manifest: Manifest, decision: Decision) -> CheckedObject:
        fields = {v.field for v in (*decision.violations, *decision.advice)}
        lines = {f: line_of_path(manifest.node, f, manifest.origin.line) for f in fields}
        return cls(manifest.origin, decision, lines)

    def findings(self) -> list[Finding]:
        """Violations (errors when denied, warnings in warn mode), then advice; each once."""
        decision = self.decision
        level: Literal["error", "warning"] = "warning" if decision.allowed else "error"
        found = [Finding(level, v, self.line_of(v.field)) for v in decision.violations]
        found += [Finding("warning", v, self.line_of(v.field)) for v in decision.advice]
        return found

    def other_warnings(self) -> list[str]:
        """Warnings of the decision that no finding already says."""
        said = {v.as_warning() for v in (*self.decision.violations, *self.decision.advice)}
        return [w for w in self.decision.warnings if w not in said]

    def line_of(self, field_path: str) -> int:
        return self.field_lines.get(field_path, self.origin.line)

    def fails(self, fail_on: FailOn = "denied") -> bool:
        """Whether this object makes the run fail under `fail_on`."""
        if not self.decision.allowed:
            return True
        return fail_on == "warnings" and bool(self.decision.warnings)


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
        return self.exit_code_for("denied")

    def exit_code_for(self, fail_on: FailOn) -> ExitCode:
        """DENIED when an object fails under `fail_on` (denied, or also warned), else OK."""
        return ExitCode.DENIED if any(r.fails(fail_on) for r in self.results) else ExitCode.OK

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


def render_text(report: CheckReport, *, quiet: bool = False, fail_on: FailOn = "denied") -> str:
    """One line per checked object, its findings under it (each once), then a summary.

    ``DENIED  ServiceEntry default/exfil (manifests/exfil.yaml:3)``. With `quiet`, only
    the objects that fail the run under `fail_on` are listed (the summary stays).
    """
    lines: list[str] = []
    for result in report.results:
        if quiet and not result.fails(fail_on):
            continue
        decision = result.decision
        verdict = "ALLOWED" if decision.allowed else "DENIED "
        note = " - namespace is exempt" if decision.exempt else ""
        lines.append(f"{verdict} {decision.object_ref} ({result.origin}){note}")
        for finding in result.findings():
            violation = finding.violation
            where = f"{violation.field}: " if violation.field else ""
            prefix = "warning: " if finding.level == "warning" else ""
            lines.append(_indented(f"{prefix}{where}{violation.message} [{violation.rule}]"))
        lines.extend(_indented(f"warning: {warning}") for warning in result.other_warnings())
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
            {
                "rule": v.rule,
                "field": v.field,
                "line": result.line_of(v.field),
                "message": v.message,
            }
            for v in decision.violations
        ],
        "warnings": list(decision.warnings),
    }
