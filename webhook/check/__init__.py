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

from webhook.check.manifests import Manifest, load_manifests
from webhook.check.report import (
    CheckedObject,
    CheckReport,
    build_report,
    render_json,
    render_text,
)
from webhook.errors import ExitCode, PolicyInvalidError
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.loader import load_policy

#: Output formats `-o` accepts.
OUTPUTS = ("text", "json")

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
    policy_path: Path | str,
    paths: Sequence[str],
    namespace: str,
    output: str,
    stdin: IO[Any],
    stdout: IO[str],
    stderr: IO[str],
) -> ExitCode:
    """The `check` command; returns the exit code (0 allowed, 1 denied, 2 error).

    Results go to `stdout`; every problem with the input or the policy goes to
    `stderr`, one ``file:line: what`` per line, and yields exit code 2 with no results.
    """
    if not _NAMESPACE.fullmatch(namespace):
        print(
            f"error: --namespace {namespace!r} is not a valid namespace name "
            "(lowercase letters, digits and '-', at most 63 characters)",
            file=stderr,
        )
        return ExitCode.ERROR
    try:
        policy = load_policy(policy_path)
    except PolicyInvalidError as exc:
        print(f"error: invalid policy {exc.source}:", file=stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=stderr)
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

    try:
        report = check_manifests(manifests, policy, namespace=namespace)
    except Exception:  # the engine promises never to raise: this is a bug, say so loudly
        print("error: internal error in the policy engine (please report it):", file=stderr)
        traceback.print_exc(file=stderr)
        return ExitCode.ERROR

    if not report.results:
        print(
            f"note: no object of a checked kind ({', '.join(KINDS.names)}) found in the input "
            f"({len(report.skipped)} other object{'s' if len(report.skipped) != 1 else ''})",
            file=stderr,
        )
    stdout.write(render_json(report) if output == "json" else render_text(report))
    stdout.flush()
    return report.exit_code


__all__ = ["OUTPUTS", "check_manifests", "run_check"]
