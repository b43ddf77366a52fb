"""`check --post-render`: a Helm post-renderer that lets a release through only when it complies.

Helm pipes the rendered manifests of every install, upgrade and dry run (client or
server) to its post-renderer and sends what comes back. Here the manifests come back
byte for byte when every object is allowed, so the release is exactly what the chart
rendered; otherwise nothing is written to stdout, the report goes to stderr (Helm
quotes it in its error) and the exit code is non-zero, which aborts the operation
before any object reaches the cluster. `helm install --dry-run=server` never reaches
the admission webhook; this does.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from webhook.check import checked_or_reported, prepare, render
from webhook.check.inputs import STDIN_NAME, decode_manifest_bytes, read_stream
from webhook.check.manifests import parse_manifests
from webhook.check.report import FailOn
from webhook.errors import ExitCode, ManifestError


def run_post_render(
    policy_path: Path | str | None,
    namespace: str,
    output: str,
    stdin: IO[Any],
    stdout: IO[Any],
    stderr: IO[str],
    *,
    values_path: Path | str | None = None,
    fail_on: FailOn = "denied",
    quiet: bool = False,
) -> ExitCode:
    """Check the manifests on `stdin`; echo them unchanged to `stdout` only if they pass.

    `namespace` is the release namespace (objects without one land there). The report
    goes to `stderr` in the `output` format: always when the release is refused (exit
    1, or 2 for unreadable input or an invalid policy), and when it passes with warnings.
    """
    policy = prepare(policy_path, values_path, namespace, stderr)
    if policy is None:
        return ExitCode.ERROR
    try:
        data = read_stream(stdin)
        manifests = parse_manifests(decode_manifest_bytes(data, STDIN_NAME), STDIN_NAME)
    except ManifestError as exc:
        print(f"error: {exc}; nothing was checked", file=stderr)
        return ExitCode.ERROR
    report = checked_or_reported(manifests, policy, namespace, stderr)
    if report is None:
        return ExitCode.ERROR
    code = report.exit_code_for(fail_on)
    if code != ExitCode.OK or report.warnings:
        stderr.write(render(report, output, fail_on=fail_on, quiet=quiet))
        stderr.flush()
    if code == ExitCode.OK:
        _echo(data, stdout)
    return code


def _echo(data: bytes | str, stdout: IO[Any]) -> None:
    """Write `data` exactly as read: bytes to the binary stream, when there is one."""
    binary = getattr(stdout, "buffer", None)
    if isinstance(data, bytes):
        if binary is not None:
            binary.write(data)
            binary.flush()
            return
        data = data.decode("utf-8")
    stdout.write(data)
    stdout.flush()
