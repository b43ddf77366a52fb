"""`egress-webhook test`: run suites and report them as text, JSON or JUnit, with an exit code."""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping, Sequence
from typing import IO, Any

from webhook.check.junit import JUnitCase, JUnitSuite, render_junit
from webhook.check.suite import CaseResult, SuiteBrokenError, SuiteResult, find_suites, run_suite
from webhook.errors import ExitCode

#: Output formats `test -o` accepts.
TEST_OUTPUTS = ("text", "json", "junit")


def run_tests(paths: Sequence[str], output: str, stdout: IO[str], stderr: IO[str]) -> ExitCode:
    """Run every suite under `paths`: 0 all pass, 1 a case fails, 2 a suite is broken.

    Broken suites are reported on `stderr` (``file:line: what``) and the others still
    run, so one typo does not hide the state of every other suite.
    """
    files, problems = find_suites(paths)
    results: list[SuiteResult] = []
    broken: dict[str, list[str]] = {}
    for file in files:
        try:
            results.append(run_suite(file))
        except SuiteBrokenError as exc:
            broken[file] = exc.problems
        except Exception:  # the engine promises never to raise: a bug, said loudly
            broken[file] = [f"{file}: internal error (please report it):", traceback.format_exc()]
    for problem in [*problems, *(p for group in broken.values() for p in group)]:
        print(f"error: {problem.rstrip()}", file=stderr)
    if broken:
        print(f"error: {len(broken)} broken suite(s), not run: {', '.join(broken)}", file=stderr)
    stdout.write(render_tests(results, output, broken))
    stdout.flush()
    if problems or broken:
        return ExitCode.ERROR
    return ExitCode.OK if all(c.passed for r in results for c in r.cases) else ExitCode.DENIED


def render_tests(
    results: Sequence[SuiteResult], output: str, broken: Mapping[str, list[str]] | None = None
) -> str:
    """The results in `output` format; `broken` suites (file -> problems) appear as errors."""
    broken = broken or {}
    if output == "json":
        return _json(results, broken)
    if output == "junit":
        return _junit(results, broken)
    return _text(results)


def _counts(results: Sequence[SuiteResult]) -> tuple[int, int]:
    cases = [c for r in results for c in r.cases]
    passed = sum(1 for c in cases if c.passed)
    return passed, len(cases) - passed


def _text(results: Sequence[SuiteResult]) -> str:
    lines: list[str] = []
    for result in results:
        lines.append(result.file)
        for case in result.cases:
            count = f"{len(case.objects)} object{'s' if len(case.objects) != 1 else ''}"
            lines.append(f"  {'PASS' if case.passed else 'FAIL'}  {case.name} ({count})")
            for obj in case.objects:
                for failure in obj.failures:
                    lines.append(f"        {obj.ref} ({obj.origin}): {failure}")
    passed, failed = _counts(results)
    suites = f"{len(results)} suite{'s' if len(results) != 1 else ''}"
    lines.append(f"{suites}, {passed + failed} cases: {passed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def _case_json(case: CaseResult) -> dict[str, Any]:
    return {
        "name": case.name,
        "line": case.line,
        "passed": case.passed,
        "objects": [
            {
                "object": o.ref,
                "source": str(o.origin),
                "expected": o.expected,
                "actual": o.actual,
                "failures": list(o.failures),
            }
            for o in case.objects
        ],
    }


def _json(results: Sequence[SuiteResult], broken: Mapping[str, list[str]]) -> str:
    passed, failed = _counts(results)
    document = {
        "suites": [{"file": r.file, "cases": [_case_json(c) for c in r.cases]} for r in results],
        "broken": [{"file": f, "problems": p} for f, p in broken.items()],
        "summary": {
            "suites": len(results),
            "cases": passed + failed,
            "passed": passed,
            "failed": failed,
            "broken": len(broken),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _junit(results: Sequence[SuiteResult], broken: Mapping[str, list[str]]) -> str:
    suites = []
    for result in results:
        cases = []
        for case in result.cases:
            failures = [f"{o.ref} ({o.origin}): {f}" for o in case.objects for f in o.failures]
            cases.append(
                JUnitCase(
                    name=case.name,
                    classname=result.file,
                    file=result.file,
                    line=case.line,
                    failure=failures[0] if failures else None,
                    details="\n".join(failures),
                )
            )
        suites.append(JUnitSuite(result.file, cases, file=result.file))
    for file, problems in broken.items():
        error = JUnitCase(
            "suite", file, file, failure="broken suite", details="\n".join(problems), error=True
        )
        suites.append(JUnitSuite(file, [error], file=file))
    return render_junit(suites, name="egress-webhook test")
