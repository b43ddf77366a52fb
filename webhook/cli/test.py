"""`egress-webhook test`: policy test suites, the cases a policy must decide as written."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from webhook.check.suite_report import TEST_OUTPUTS, run_tests
from webhook.errors import ExitCode

_DESCRIPTION = """\
Run policy test suites: YAML files that name a policy (a policy file, or the chart's
values file) and cases of manifests with the verdict each object must get, optionally
the rules that must fire and a pattern its findings must match. Each case runs through
the engine the admission server runs, so a passing suite is the cluster's behaviour.

A PATH is a suite file, or a folder searched recursively for files named *suite.yaml
or *suite.yml. Paths in a suite are relative to the suite file.

suite file (reference: README.md, "Policy test suites"; schema: egress-webhook schema --suite):
  # yaml-language-server: $schema=suite.schema.json
  policy: policy.yaml              # or  values: charts-values.yaml  (its policy: key)
  namespace: default               # for objects that name none
  cases:
    - name: the documented egress path is allowed
      manifests: [manifests/allowed]           # files and folders
      verdict: allowed                          # every object of the case
    - name: a direct route around the egress gateway is denied
      manifests: [manifests/denied/direct-route.yaml]
      expect:
        - object: VirtualService/github-direct  # Kind/name or Kind/namespace/name
          verdict: denied
          rules: [mesh-routing]                 # must fire (others may too)
          message: around the egress gateway    # regular expression over the findings
    - name: inline objects
      objects:
        - {apiVersion: networking.istio.io/v1, kind: ServiceEntry, ...}
      verdict: denied"""

_EPILOG = """\
exit codes:
  0  every case passed
  1  a case failed (each unmet expectation is listed under its case)
  2  a broken suite: bad YAML, an unknown key, an invalid policy, a missing manifest,
     an expectation naming no object, an object without an expected verdict
     (each problem on stderr as file:line: what; the other suites still run)

examples:
  egress-webhook test examples/
  egress-webhook test policies/ -o junit > policy-tests.xml"""


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    test = sub.add_parser(
        "test",
        help="run policy test suites: expected verdicts for manifests (for CI)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    test.add_argument(
        "paths", nargs="+", metavar="PATH", help="suite file, or folder to search for suites"
    )
    test.add_argument(
        "-o",
        "--output",
        choices=TEST_OUTPUTS,
        default="text",
        help="text: a line per case and a summary; json; junit: a test case per case "
        "(default %(default)s)",
    )
    test.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Run the suites; results on stdout, broken suites on stderr."""
    return run_tests(args.paths, args.output, stdout=sys.stdout, stderr=sys.stderr)
