"""`egress-webhook audit`: every object already in the cluster, judged with the mesh in view."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from webhook.cli.options import add_cluster_flags
from webhook.errors import ExitCode


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    audit = sub.add_parser(
        "audit",
        help="check every object already in the cluster against a policy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "List every object of the checked kinds (and the Gateways they use) from the\n"
            "cluster, one list per kind, and evaluate each with the whole mesh in view: its\n"
            "own rules, gateway coverage, Gateways by selector. Same output as check. Run it\n"
            "with a candidate policy to preview what a policy change makes non-compliant.\n"
            "Progress goes to stderr."
        ),
        epilog="exit codes: 0 nothing denied, 1 something denied, 2 errors",
    )
    audit.add_argument("--policy", type=Path, required=True, help="policy file")
    add_cluster_flags(audit)
    scope = audit.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="report only this namespace's objects")
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="report every namespace (default)"
    )
    audit.add_argument(
        "-o",
        "--output",
        choices=("text", "json", "policyreport", "policyreport-json"),
        default="text",
        help="text, json (the shape check prints), or the PolicyReports the server writes, "
        "one per namespace, as YAML (policyreport) or a JSON List (policyreport-json)",
    )
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Read the cluster, judge every object, print the report."""
    from webhook.audit import run_audit

    return run_audit(
        args.policy,
        kubeconfig=args.kubeconfig,
        in_cluster=args.in_cluster,
        namespace=args.namespace,
        output=args.output,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
