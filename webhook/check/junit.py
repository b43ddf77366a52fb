"""JUnit XML, the test report every CI system shows: for `check` (one case per object) and `test`.

The dialect is the common one (Jenkins, GitLab, GitHub test reporters, Azure DevOps):
``<testsuites>`` of ``<testsuite>`` of ``<testcase name classname file line>``, a
``<failure message type>`` with the details as its text, ``<system-out>`` for warnings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from webhook.check.report import CheckedObject, CheckReport, FailOn

# Characters XML 1.0 cannot carry at all; a tenant's value may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class JUnitCase:
    """One ``<testcase>``; `failure` (a one-line message) makes it fail, `details` explains."""

    name: str
    classname: str
    file: str = ""
    line: int = 0
    failure: str | None = None
    details: str = ""
    output: str = ""
    #: An error (a broken input) rather than a failed expectation.
    error: bool = False


@dataclass(frozen=True, slots=True)
class JUnitSuite:
    """One ``<testsuite>``."""

    name: str
    cases: Sequence[JUnitCase]
    file: str = ""


def render_junit(suites: Sequence[JUnitSuite], name: str = "egress-webhook") -> str:
    """The XML document for `suites`."""
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        counts = _counts(suite.cases)
        element = ET.SubElement(
            root,
            "testsuite",
            name=_xml(suite.name),
            tests=str(counts["tests"]),
            failures=str(counts["failures"]),
            errors=str(counts["errors"]),
            skipped="0",
        )
        if suite.file:
            element.set("file", _xml(suite.file))
        for case in suite.cases:
            _case(element, case)
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _counts(cases: Sequence[JUnitCase]) -> dict[str, int]:
    failed = [c for c in cases if c.failure is not None]
    errors = sum(1 for c in failed if c.error)
    return {"tests": len(cases), "failures": len(failed) - errors, "errors": errors}


def _case(parent: ET.Element, case: JUnitCase) -> None:
    element = ET.SubElement(
        parent, "testcase", name=_xml(case.name), classname=_xml(case.classname)
    )
    if case.file:
        element.set("file", _xml(case.file))
    if case.line:
        element.set("line", str(case.line))
    if case.failure is not None:
        tag = "error" if case.error else "failure"
        failure = ET.SubElement(element, tag, message=_xml(case.failure), type=tag)
        failure.text = _xml(case.details or case.failure)
    if case.output:
        ET.SubElement(element, "system-out").text = _xml(case.output)


def check_junit(report: CheckReport, fail_on: FailOn = "denied") -> str:
    """`check`'s report: one suite, one case per checked object, failing as the exit code does."""
    cases = [_object_case(result, fail_on) for result in report.results]
    return render_junit([JUnitSuite("egress-webhook check", cases)])


def _object_case(result: CheckedObject, fail_on: FailOn) -> JUnitCase:
    decision = result.decision
    lines = [
        f"{f.violation.field} (line {f.line}): {f.violation.message} [{f.violation.rule}]"
        for f in result.findings()
        if f.level == "error"
    ]
    warnings = [
        f"{f.violation.field} (line {f.line}): {f.violation.message} [{f.violation.rule}]"
        for f in result.findings()
        if f.level == "warning"
    ] + result.other_warnings()
    failure = None
    if not decision.allowed:
        failure = f"{decision.object_ref} violates the egress policy"
    elif result.fails(fail_on):
        failure = f"{decision.object_ref} has warnings (--fail-on warnings)"
        lines = warnings
    return JUnitCase(
        name=decision.object_ref,
        classname=result.origin.file,
        file=result.origin.file,
        line=result.origin.line,
        failure=failure,
        details="\n".join(lines),
        output="\n".join(f"warning: {w}" for w in warnings),
    )
