"""What every command's options share: environment mirrors of flags."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: Every serve flag has an environment mirror: EGRESS_WEBHOOK_<FLAG_NAME>.
ENV_PREFIX = "EGRESS_WEBHOOK_"


def env(name: str, default: str | None = None) -> str | None:
    """The value of EGRESS_WEBHOOK_<name>, or `default`."""
    return os.environ.get(ENV_PREFIX + name, default)


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    """--kubeconfig / --in-cluster: where the cluster view reads the cluster."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--kubeconfig",
        type=Path,
        default=env("KUBECONFIG"),
        help=(
            "keep a live view of the cluster's mesh config through this kubeconfig: gateway "
            "coverage, Gateways by selector (env EGRESS_WEBHOOK_KUBECONFIG)"
        ),
    )
    where.add_argument(
        "--in-cluster",
        action="store_true",
        default=env("IN_CLUSTER", "") == "true",
        help="the same through the pod's service account (env EGRESS_WEBHOOK_IN_CLUSTER=true)",
    )
