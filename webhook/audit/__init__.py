"""The audit (`egress-webhook audit`): every object in the cluster through the engine.

One list per kind (the registry's, plus the Gateways they refer to) fills a ClusterView,
and each registry object is evaluated with it: its own rules and the checks that need
the rest of the mesh (gateway coverage, Gateways by selector). The loop is `webhook.reports.audit`,
the one the server's continuous audit runs. The report is the checker's
(`webhook.check.report`), so `-o json` has the shape `check` prints; `-o policyreport`
prints the PolicyReports the server would write (`webhook.reports.policy_report`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import IO

import yaml

from webhook.check.manifests import Origin
from webhook.check.report import (
    CheckedObject,
    CheckReport,
    build_report,
    render_json,
    render_text,
)
from webhook.cluster.client import ApiException, api_client, list_kind
from webhook.cluster.kinds import watched_kinds
from webhook.cluster.view import ClusterView
from webhook.errors import ClusterAccessError, ExitCode, PolicyInvalidError
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy
from webhook.reports.audit import Audited, audit, audited_objects
from webhook.reports.policy_report import policy_reports

#: Output formats `-o` accepts: the checker's, and the PolicyReports as YAML or a JSON List.
OUTPUTS = ("text", "json", "policyreport", "policyreport-json")


async def read_cluster(
    kubeconfig: Path | None, *, in_cluster: bool, stderr: IO[str]
) -> ClusterView:
    """One list of every watched kind (all namespaces: exportTo crosses them) into a view."""
    view = ClusterView(watched_kinds())
    api = await api_client(kubeconfig, in_cluster=in_cluster)
    try:
        for kind in view.kinds:
            try:
                items, _ = await list_kind(api, kind)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                print(f"note: {kind.key} is not served by this cluster; skipped", file=stderr)
                view.kind_missing(kind.key, "not served")
                continue
            view.listed(kind.key, items)
            print(f"listed {len(items)} {kind.key}", file=stderr, flush=True)
    finally:
        await api.close()
    return view


def audit_all(
    view: ClusterView,
    policy: CompiledPolicy,
    *,
    namespace: str | None = None,
    stderr: IO[str] | None = None,
) -> list[Audited]:
    """Every registry object the view holds (in `namespace`, or all), judged with the view."""
    total = len(audited_objects(view, namespace)) if stderr is not None else 0
    audited: list[Audited] = []
    for item in audit(view, policy, namespace):
        audited.append(item)
        if stderr is not None and len(audited) % 1000 == 0:
            print(f"evaluated {len(audited)}/{total} objects", file=stderr, flush=True)
    return audited


def check_report(audited: list[Audited]) -> CheckReport:
    """The audit as the checker's report (what `-o text` and `-o json` print)."""
    checked = [
        CheckedObject(
            Origin(file=f"cluster {a.kind.resource}/{a.decision.namespace}/{a.decision.name}",
                   document=0, line=0),
            a.decision,
        )
        for a in audited
    ]  # fmt: skip
    return build_report(checked)


def render(audited: list[Audited], output: str) -> str:
    """The audit in the `-o` format."""
    if output in ("text", "json"):
        report = check_report(audited)
        return render_json(report) if output == "json" else render_text(report)
    reports = list(policy_reports(audited).values())
    if output == "policyreport-json":
        document = {"apiVersion": "v1", "kind": "List", "items": reports}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump_all(reports, sort_keys=False, allow_unicode=True)


def run_audit(
    policy_path: Path,
    *,
    kubeconfig: Path | None,
    in_cluster: bool,
    namespace: str | None,
    output: str,
    stdout: IO[str],
    stderr: IO[str],
) -> ExitCode:
    """The `audit` command: 0 nothing denied, 1 something denied, 2 errors."""
    try:
        policy = load_policy(policy_path)
    except PolicyInvalidError as exc:
        print(f"error: invalid policy {exc.source}:", file=stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=stderr)
        return ExitCode.ERROR
    try:
        view = asyncio.run(read_cluster(kubeconfig, in_cluster=in_cluster, stderr=stderr))
    except ClusterAccessError as exc:
        print(f"error: {exc}", file=stderr)
        return ExitCode.ERROR
    except Exception as exc:  # network, TLS, HTTP: whatever it is, the audit could not read
        print(f"error: cannot list the cluster's objects: {type(exc).__name__}: {exc}", file=stderr)
        return ExitCode.ERROR
    audited = audit_all(view, policy, namespace=namespace, stderr=stderr)
    stdout.write(render(audited, output))
    stdout.flush()
    return check_report(audited).exit_code
