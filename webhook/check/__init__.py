"""The offline checker (`egress-webhook check`): manifests in, the cluster's verdicts out.

A thin front end over `webhook.policy.engine.evaluate`, the function the admission
server calls, so a verdict in CI is the verdict the cluster gives.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from webhook.check.junit import check_junit
from webhook.check.manifests import Manifest, load_manifests
from webhook.check.report import (
    FAIL_ON,
    CheckedObject,
    CheckReport,
    FailOn,
    build_report,
    render_json,
    render_text,
)
from webhook.check.sarif import render_sarif
from webhook.errors import ExitCode, PolicyInvalidError
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.loader import load_policy
from webhook.policy.values import load_values_policy

#: Output formats `-o` accepts.
OUTPUTS = ("text", "json", "sarif", "junit")

# A Kubernetes namespace name is an RFC 1123 label.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def check_manifests(
    manifests: Sequence[Manifest], policy: CompiledPolicy, *, namespace: str = "default"
) -> CheckReport:
    """Evaluate every manifest; `namespace` is used for objects that do not name one."""
    checked = []
    for manifest in manifests:
        try:
            # As kubectl does: the object's own namespace, else the one given.
            decision = evaluate(manifest.obj, policy, namespace=_namespace_of(manifest, namespace))
        except Exception as exc:
            exc.add_note(f"while checking the object at {manifest.origin}")
            raise
        checked.append(CheckedObject.of(manifest, decision))
    return build_report(checked)


def _namespace_of(manifest: Manifest, default: str) -> str:
    metadata = manifest.obj.get("metadata")
    named = metadata.get("namespace") if isinstance(metadata, dict) else None
    return named if isinstance(named, str) and named else default


def run_check(
    policy_path: Path | str | None,
    paths: Sequence[str],
    namespace: str,
    output: str,
    stdin: IO[Any],
    stdout: IO[str],
    stderr: IO[str],
    *,
    values_path: Path | str | None = None,
    fail_on: FailOn = "denied",
    quiet: bool = False,
) -> ExitCode:
    """The `check` command; returns the exit code (0 allowed, 1 denied, 2 error).

    The policy is the file `policy_path`, or the `policy:` key of the chart values file
    `values_path`. Results go to `stdout`; every problem with the input or the policy
    goes to `stderr`, one ``file:line: what`` per line, and yields exit code 2 with no
    results. With `fail_on` "warnings", an allowed object with warnings fails too.
    """
    policy = prepare(policy_path, values_path, namespace, stderr)
    if policy is None:
        return ExitCode.ERROR
    manifests, problems = load_manifests(paths, stdin=stdin)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=stderr)
        print(
            f"error: {len(problems)} input problem{'s' if len(problems) != 1 else ''}; "
            "nothing was checked",
            file=stderr,
        )
        return ExitCode.ERROR
    report = checked_or_reported(manifests, policy, namespace, stderr)
    if report is None:
        return ExitCode.ERROR
    stdout.write(render(report, output, fail_on=fail_on, quiet=quiet))
    stdout.flush()
    return report.exit_code_for(fail_on)


def prepare(
    policy_path: Path | str | None,
    values_path: Path | str | None,
    namespace: str,
    stderr: IO[str],
) -> CompiledPolicy | None:
    """The policy (from a policy file or a values file), or None with the problems on `stderr`."""
    if not _NAMESPACE.fullmatch(namespace):
        print(
            f"error: --namespace {namespace!r} is not a valid namespace name "
            "(lowercase letters, digits and '-', at most 63 characters)",
            file=stderr,
        )
        return None
    try:
        if values_path is not None:
            return load_values_policy(values_path)
        if policy_path is None:
            raise ValueError("a policy file or a values file is needed")
        return load_policy(policy_path)
    except PolicyInvalidError as exc:
        print(f"error: invalid policy {exc.source}:", file=stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=stderr)
        return None


def checked_or_reported(
    manifests: Sequence[Manifest], policy: CompiledPolicy, namespace: str, stderr: IO[str]
) -> CheckReport | None:
    """The report, or None after printing an engine bug (which is never a verdict)."""
    try:
        report = check_manifests(manifests, policy, namespace=namespace)
    except Exception:  # the engine promises never to raise: this is a bug, say so loudly
        print("error: internal error in the policy engine (please report it):", file=stderr)
        traceback.print_exc(file=stderr)
        return None
    if not report.results:
        print(
            f"note: no object of a checked kind ({', '.join(KINDS.names)}) found in the input "
            f"({len(report.skipped)} other object{'s' if len(report.skipped) != 1 else ''})",
            file=stderr,
        )
    return report


def render(report: CheckReport, output: str, *, fail_on: FailOn, quiet: bool) -> str:
    """`report` in the output format `output` (one of OUTPUTS)."""
    if output == "json":
        return render_json(report)
    if output == "sarif":
        return render_sarif(report)
    if output == "junit":
        return check_junit(report, fail_on)
    return render_text(report, quiet=quiet, fail_on=fail_on)


__all__ = ["FAIL_ON", "OUTPUTS", "check_manifests", "render", "run_check"]
