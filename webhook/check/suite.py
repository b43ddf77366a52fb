"""Policy test suites (`egress-webhook test`): find them, read them with lines, run their cases.

Every case runs through `check_manifests`, so through the engine the admission server
calls. A suite that cannot be run as written (bad YAML, an unknown key, a missing
manifest, an expectation naming no object of its case, an object with no expected
verdict) is broken: its problems are reported as ``file:line: what`` and no case of it
runs. Expectations that are not met are failures of their case.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from webhook.check import check_manifests
from webhook.check.inputs import expand_path, read_manifest_file
from webhook.check.locate import dotted, line_of_path, node_at_path
from webhook.check.manifests import Manifest, Origin, load_manifests
from webhook.check.report import CheckedObject
from webhook.check.suite_model import Case, Expectation, Suite, Verdict
from webhook.errors import ManifestError, PolicyInvalidError
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy
from webhook.policy.values import load_values_policy
from webhook.yaml_strict import load_document, yaml_problem

#: File names read as suites when a folder is searched (a file named explicitly always is).
SUITE_SUFFIXES = ("suite.yaml", "suite.yml")


class SuiteBrokenError(Exception):
    """A suite cannot run as written; `problems` are ``file:line: what`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ObjectResult:
    """One object of a case: the verdict expected and given, and every unmet expectation."""

    ref: str
    origin: Origin
    expected: Verdict
    actual: Verdict
    failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    line: int
    objects: tuple[ObjectResult, ...]

    @property
    def passed(self) -> bool:
        return not any(o.failures for o in self.objects)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    file: str
    cases: tuple[CaseResult, ...]


def find_suites(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Suite files named by `paths` (files as given; folders searched), and problems."""
    found: list[str] = []
    problems: list[str] = []
    for path in paths:
        try:
            if not os.path.isdir(path):
                found.extend(expand_path(path))
                continue
            suites = [f for f in expand_path(path) if f.endswith(SUITE_SUFFIXES)]
        except ManifestError as exc:
            problems.append(str(exc))
            continue
        if not suites:
            problems.append(f"{path}: no suite file (named *{SUITE_SUFFIXES[0]}) in this folder")
        found.extend(suites)
    return list(dict.fromkeys(found)), problems


def run_suite(file: str) -> SuiteResult:
    """Load the suite at `file` and run every case; SuiteBrokenError if it cannot run."""
    suite, node = _read(file)
    policy = _policy(suite, node, file)
    base = Path(file).parent
    loaded = [_load_case(suite, i, case, node, file, base) for i, case in enumerate(suite.cases)]
    problems = [p for _, p in loaded if p]
    if problems:
        raise SuiteBrokenError([p for group in problems for p in group])
    results = []
    unmatched: list[str] = []
    for i, (manifests, _) in enumerate(loaded):
        case = suite.cases[i]
        namespace = case.namespace or suite.namespace
        report = check_manifests(manifests, policy, namespace=namespace)
        line = line_of_path(node, f"cases[{i}]", 1)
        try:
            results.append(_judge(case, i, report.results, node, file, line))
        except SuiteBrokenError as exc:  # every case's problems, not only the first's
            unmatched.extend(exc.problems)
    if unmatched:
        raise SuiteBrokenError(unmatched)
    return SuiteResult(file, tuple(results))


def _read(file: str) -> tuple[Suite, yaml.Node]:
    try:
        data, node = load_document(read_manifest_file(file))
    except ManifestError as exc:
        raise SuiteBrokenError([str(exc)]) from None
    except yaml.YAMLError as exc:
        raise SuiteBrokenError([yaml_problem(exc, file)]) from None
    if node is None or not isinstance(data, dict):
        raise SuiteBrokenError([f"{file}:1: a suite is a mapping with a policy and cases"])
    try:
        return Suite.model_validate(data), node
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            path = dotted(tuple(error["loc"]))
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field (see the suite reference in README.md)"
            line = line_of_path(node, path, 1)
            problems.append(f"{file}:{line}: {path or '(top level)'}: {message}")
        raise SuiteBrokenError(problems) from None


def _policy(suite: Suite, node: yaml.Node, file: str) -> CompiledPolicy:
    key = "values" if suite.values is not None else "policy"
    target = Path(file).parent / str(suite.values or suite.policy)
    try:
        return load_values_policy(target) if suite.values else load_policy(target)
    except PolicyInvalidError as exc:
        line = line_of_path(node, key, 1)
        raise SuiteBrokenError(
            [f"{file}:{line}: {key}: invalid policy {exc.source}:", *exc.problems]
        ) from None


def _load_case(
    suite: Suite, index: int, case: Case, node: yaml.Node, file: str, base: Path
) -> tuple[list[Manifest], list[str]]:
    """The case's objects (files, then inline ones) and its problems, with the suite's lines."""
    at = f"{file}:{line_of_path(node, f'cases[{index}]', 1)}: case {case.name!r}"
    paths = [str(base / p) for p in case.manifests]
    manifests, problems = load_manifests(paths, stdin=io.StringIO(""))
    problems = [f"{at}: {p}" for p in problems]
    for j, obj in enumerate(case.objects):
        path = f"cases[{index}].objects[{j}]"
        line = line_of_path(node, path, 1)
        if not isinstance(obj.get("apiVersion"), str) or not isinstance(obj.get("kind"), str):
            problems.append(f"{file}:{line}: {path}: an object needs apiVersion and kind")
            continue
        manifests.append(Manifest(obj, Origin(file, 1, line), node_at_path(node, path)))
    return manifests, problems


def _judge(
    case: Case,
    index: int,
    checked: Sequence[CheckedObject],
    node: yaml.Node,
    file: str,
    line: int,
) -> CaseResult:
    expectations = _match(case, index, checked, node, file)
    results = []
    for result in checked:
        expectation = expectations.get(id(result))
        expected: Verdict = expectation.verdict if expectation else (case.verdict or "allowed")
        results.append(_outcome(result, expected, expectation))
    return CaseResult(case.name, line, tuple(results))


def _match(
    case: Case, index: int, checked: Sequence[CheckedObject], node: yaml.Node, file: str
) -> dict[int, Expectation]:
    """Each checked object's expectation; SuiteBrokenError for what cannot be matched."""
    matched: dict[int, Expectation] = {}
    problems = []
    for j, expectation in enumerate(case.expect):
        found = [r for r in checked if _refers_to(expectation.object, r)]
        if not found:
            line = line_of_path(node, f"cases[{index}].expect[{j}].object", 1)
            present = ", ".join(_reference(r) for r in checked) or "none"
            problems.append(
                f"{file}:{line}: {expectation.object}: no such object in case {case.name!r} "
                f"(checked objects: {present})"
            )
        namespaces = {r.decision.namespace for r in found}
        if len(namespaces) > 1:
            line = line_of_path(node, f"cases[{index}].expect[{j}].object", 1)
            problems.append(
                f"{file}:{line}: {expectation.object} is in several namespaces "
                f"({', '.join(sorted(namespaces))}): write Kind/namespace/name"
            )
        matched.update((id(r), expectation) for r in found)
    if case.verdict is None:
        line = line_of_path(node, f"cases[{index}]", 1)
        problems.extend(
            f"{file}:{line}: case {case.name!r}: no expected verdict for "
            f"{r.decision.object_ref} ({r.origin}): add it to expect, or give the case a verdict"
            for r in checked
            if id(r) not in matched
        )
    if problems:
        raise SuiteBrokenError(problems)
    return matched


def _refers_to(reference: str, result: CheckedObject) -> bool:
    parts = reference.split("/")
    decision = result.decision
    if parts[0] != decision.kind or parts[-1] != decision.name:
        return False
    return len(parts) == 2 or parts[1] == decision.namespace


def _reference(result: CheckedObject) -> str:
    decision = result.decision
    return f"{decision.kind}/{decision.namespace}/{decision.name}"


def _outcome(
    result: CheckedObject, expected: Verdict, expectation: Expectation | None
) -> ObjectResult:
    decision = result.decision
    actual: Verdict = "allowed" if decision.allowed else "denied"
    findings = [
        f"{f.violation.field}: {f.violation.message} [{f.violation.rule}]"
        for f in result.findings()
    ] + result.other_warnings()
    failures = []
    if actual != expected:
        why = "; ".join(findings) if findings else "no findings"
        failures.append(f"expected {expected}, got {actual} ({why})")
    if expectation is not None:
        fired = {f.violation.rule for f in result.findings()}
        failures.extend(
            f"rule {rule} did not fire (fired: {', '.join(sorted(fired)) or 'none'})"
            for rule in expectation.rules
            if rule not in fired
        )
        pattern = expectation.message
        if pattern is not None and not re.search(pattern, "\n".join(findings)):
            failures.append(f"no finding matches /{pattern}/ (findings: {_listed(findings)})")
    return ObjectResult(decision.object_ref, result.origin, expected, actual, tuple(failures))


def _listed(findings: list[str]) -> str:
    return "; ".join(findings) if findings else "none"
