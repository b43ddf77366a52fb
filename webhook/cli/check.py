"""`egress-webhook check`: manifests checked offline with the server's engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from webhook.check import OUTPUTS, run_check
from webhook.errors import ExitCode


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    check = sub.add_parser(
        "check",
        help="check manifests offline against a policy (for CI)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Check ServiceEntry and VirtualService objects in files, folders (recursively:\n"
            "*.yaml, *.yml, *.json) or stdin (-f -) with the same engine as the server.\n"
            "Multi-document YAML, JSON streams and List objects are read as kubectl reads\n"
            "them; input kubectl would refuse (duplicate keys, bad YAML) is refused here\n"
            "too. Other kinds are skipped."
        ),
        epilog=(
            "exit codes:\n"
            "  0  every object allowed\n"
            "  1  at least one object denied\n"
            "  2  usage error, unreadable or malformed input, or invalid policy\n"
            "     (each problem on stderr as file:line: what)\n"
            "\n"
            "examples:\n"
            "  egress-webhook check --policy policy.yaml -f manifests/\n"
            "  helm template ./chart | egress-webhook check --policy policy.yaml -f - -o json"
        ),
    )
    check.add_argument("--policy", type=Path, required=True, help="policy file")
    check.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="append",
        required=True,
        metavar="PATH",
        help="file, folder or - for stdin; repeatable; YAML (multi-document) or JSON",
    )
    check.add_argument(
        "-n",
        "--namespace",
        default="default",
        help="namespace for objects that do not name one, as kubectl does (default %(default)s)",
    )
    check.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="text",
        help="text for people, json for machines (default %(default)s)",
    )
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Check the files; results on stdout, problems on stderr."""
    return run_check(
        policy_path=args.policy,
        paths=args.paths,
        namespace=args.namespace,
        output=args.output,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
