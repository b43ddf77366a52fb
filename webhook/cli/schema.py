"""`egress-webhook schema`: the policy file's (or a test suite's) JSON Schema, for editors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from webhook.check.suite_model import suite_json_schema
from webhook.errors import ExitCode
from webhook.policy.schema import chart_values_schema, policy_json_schema


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    schema = sub.add_parser(
        "schema",
        help="print the policy file's JSON Schema (for editors and CI)",
        description=(
            "Print the JSON Schema of the policy file, generated from the same model the "
            "webhook validates policies with. Point yaml-language-server at it with a "
            "'# yaml-language-server: $schema=policy.schema.json' comment. With "
            "--chart-values, rewrite the policy section of a chart's values.schema.json. "
            "With --suite, print the schema of policy test suites (egress-webhook test)."
        ),
    )
    schema.add_argument(
        "--suite",
        action="store_true",
        help="print the test suite file's schema instead of the policy's",
    )
    schema.add_argument(
        "--chart-values",
        type=Path,
        metavar="FILE",
        help="update this values.schema.json in place instead of printing",
    )
    schema.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Print the schema, or rewrite a chart's values.schema.json policy section."""
    if args.suite:
        print(json.dumps(suite_json_schema(), indent=2))
        return ExitCode.OK
    if args.chart_values is None:
        print(json.dumps(policy_json_schema(), indent=2))
        return ExitCode.OK
    path: Path = args.chart_values
    updated = chart_values_schema(json.loads(path.read_text()))
    path.write_text(json.dumps(updated, indent=2) + "\n")
    print(f"updated the policy section of {path}", file=sys.stderr)
    return ExitCode.OK
