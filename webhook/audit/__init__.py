"""The audit (`egress-webhook audit`): every object in the cluster through the engine.

One list per kind (the registry's, plus the Gateways they refer to) fills a ClusterView,
and each registry object is evaluated with it: its own rules and the checks that need
the rest of the mesh (gateway coverage, Gateways by selector). The report is the
checker's (`webhook.check.report`), so `-o json` has the shape `check` prints; a
PolicyReport writer can consume the same `CheckReport`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import IO

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
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.policy.loader import load_policy
from webhook.policy.view import meta

#: Output formats `-o` accepts.
OUTPUTS = ("text", "json")


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


def audit_view(
    view: ClusterView,
    policy: CompiledPolicy,
    *,
    namespace: str | None = None,
    stderr: IO[str] | None = None,
) -> CheckReport:
    """Evaluate every registry object the view holds (in `namespace`, or all) with the view."""
    checked: list[CheckedObject] = []
    registry_kinds = [k for k in view.kinds if k.kind in KINDS.names]
    objects = [(k, o) for k in registry_kinds for o in view.index.all(k.key)]
    for done, (kind, obj) in enumerate(objects, 1):
        ns, name = meta(obj)
        if namespace is not None and ns != namespace:
            continue
        decision = evaluate(obj, policy, namespace=ns, view=view)
        origin = Origin(file=f"cluster {kind.resource}/{ns}/{name}", document=0, line=0)
        checked.append(CheckedObject(origin, decision))
        if stderr is not None and done % 1000 == 0:
            print(f"evaluated {done}/{len(objects)} objects", file=stderr, flush=True)
    return build_report(checked)


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
    report = audit_view(view, policy, namespace=namespace, stderr=stderr)
    stdout.write(render_json(report) if output == "json" else render_text(report))
    stdout.flush()
    return report.exit_code
