"""`egress-webhook check`: manifests checked offline with the server's engine (CI, Helm)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from webhook.check import FAIL_ON, OUTPUTS, run_check
from webhook.check.post_render import run_post_render
from webhook.errors import ExitCode

_DESCRIPTION = """\
Check Istio, Gateway API and core objects in files, folders (recursively: *.yaml,
*.yml, *.json) or stdin (-f -) with the same engine as the server, so the verdict in
CI is the one the cluster gives. Multi-document YAML, JSON streams and List objects are
read as kubectl reads them; input kubectl would refuse (duplicate keys, bad YAML) is
refused here too. Other kinds are skipped.

The policy is a policy file (--policy) or the `policy:` key of the webhook chart's
values file (--values), so CI checks against the very file the cluster is installed
with.

outputs (-o):
  text   one line per object, its findings under it (--quiet: only the failing ones)
  json   {"results": [...], "skipped": [...], "summary": {...}}
  sarif  SARIF 2.1.0 for code scanning: rule ids are the rule names, each result at the
         line of the offending field (e.g. spec.http[0].route[1].destination.host)
  junit  JUnit XML, one test case per object

As a Helm post-renderer (--post-render), the manifests are read from stdin and written
back unchanged to stdout when every object passes; otherwise nothing is written, the
report goes to stderr and the exit code aborts the Helm operation before any object is
sent (install, upgrade, and --dry-run alike). Helm does not tell a post-renderer the
release namespace: pass it with -n (HELM_NAMESPACE is used when set, as Helm 4 plugins
get it)."""

_EPILOG = """\
exit codes:
  0  every object allowed (and, with --fail-on warnings, no warnings)
  1  at least one object denied (or warned, with --fail-on warnings)
  2  usage error, unreadable or malformed input, or invalid policy
     (each problem on stderr as file:line: what)

examples:
  egress-webhook check --policy policy.yaml -f manifests/
  egress-webhook check --values values.yaml -f manifests/ -o sarif > egress.sarif
  helm template ./chart | egress-webhook check --policy policy.yaml -f - --quiet
  egress-webhook check --policy policy.yaml -f manifests/ -o junit --fail-on warnings > report.xml
  helm install app ./chart -n shop --post-renderer egress-webhook \\
    --post-renderer-args check --post-renderer-args --post-render \\
    --post-renderer-args --policy=/etc/egress/policy.yaml --post-renderer-args --namespace=shop"""


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    check = sub.add_parser(
        "check",
        help="check manifests offline against a policy (CI, Helm post-renderer)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--policy", type=Path, help="policy file")
    source.add_argument(
        "--values",
        type=Path,
        metavar="VALUES",
        help="the egress-webhook chart's values file: the policy under its `policy:` key",
    )
    check.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="append",
        metavar="PATH",
        help="file, folder or - for stdin; repeatable; YAML (multi-document) or JSON "
        "(required, except with --post-render, which reads stdin)",
    )
    check.add_argument(
        "-n",
        "--namespace",
        help="namespace for objects that do not name one, as kubectl does (default: "
        "default; with --post-render, $HELM_NAMESPACE when set)",
    )
    check.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="text",
        help="report format (default %(default)s; see outputs above)",
    )
    check.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="denied",
        help="exit 1 on denied objects (as the cluster), or also on warnings (stricter "
        "than the cluster; warn-mode policies then fail CI) (default %(default)s)",
    )
    check.add_argument(
        "-q", "--quiet", action="store_true", help="text output: list only the failing objects"
    )
    check.add_argument(
        "--post-render",
        action="store_true",
        help="act as a Helm post-renderer: manifests on stdin, echoed unchanged to stdout "
        "only when they pass, the report on stderr",
    )
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Check the files (or stdin, as a post-renderer); results on stdout, problems on stderr."""
    if args.post_render:
        if args.paths:
            print("error: --post-render reads stdin; drop -f", file=sys.stderr)
            return ExitCode.ERROR
        return run_post_render(
            policy_path=args.policy,
            values_path=args.values,
            namespace=args.namespace or os.environ.get("HELM_NAMESPACE") or "default",
            output=args.output,
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            fail_on=args.fail_on,
            quiet=args.quiet,
        )
    if not args.paths:
        print("error: -f PATH is required (a file, a folder, or - for stdin)", file=sys.stderr)
        return ExitCode.ERROR
    return run_check(
        policy_path=args.policy,
        values_path=args.values,
        paths=args.paths,
        namespace=args.namespace or "default",
        output=args.output,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
        fail_on=args.fail_on,
        quiet=args.quiet,
    )
