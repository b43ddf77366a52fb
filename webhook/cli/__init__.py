"""Console entry point `egress-webhook`: serve, check, test, audit, certs, schema; a module each.

Commands are front ends: they read flags, call the layer below and turn its outcome (or
its exception) into an ExitCode and a message. Nothing below the CLI prints or exits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from webhook import __version__
from webhook.cli import audit, certs, check, schema, serve, test

_DESCRIPTION = """\
Keeps Istio egress honest: every mesh object a tenant creates (ServiceEntry,
VirtualService, DestinationRule, Gateway, Sidecar, EnvoyFilter, WorkloadEntry,
Gateway API routes, Services and their endpoints) may open only allowlisted external
hosts, and mesh traffic to them must leave through the egress gateway. The same policy
engine runs in the admission server and in the offline checker, so a verdict in CI is
the verdict the cluster gives.
"""

_EPILOG = """\
examples:
  egress-webhook serve --policy policy.yaml --tls-cert certs/tls.crt --tls-key certs/tls.key
  helm template ./mychart | egress-webhook check --policy policy.yaml -f -
  egress-webhook check --policy policy.yaml -f manifests/ -o json
  egress-webhook audit --policy policy.yaml --kubeconfig ~/.kube/config -o json
  egress-webhook check --values values.yaml -f manifests/ -o sarif > egress.sarif
  egress-webhook test examples/
  egress-webhook certs --service egress-webhook --namespace egress-webhook --out-dir certs/
  egress-webhook schema > policy.schema.json

exit codes: 0 done (every object allowed), 1 an object denied (serve: cannot listen;
  test: a case failed), 2 usage error, unreadable or malformed input, invalid policy or
  certificate, a broken suite.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface (also what `--help` prints)."""
    parser = argparse.ArgumentParser(
        prog="egress-webhook",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (serve, check, test, audit, certs, schema):
        command.add_to(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
