"""The toolchain's helm, promtool and helm-docs, or a failure that says how to build them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chart.rendering import Helm, helm_path, toolchain_bin


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The toolchain's helm; fails (never skips) with the fix when it is missing."""
    binary = helm_path()
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"helm is not at {binary}: run `make toolchain` (tests/e2e/toolchain/build.sh) "
            "to build it, or set EGRESS_WEBHOOK_CACHE to the cache that has it",
            pytrace=False,
        )
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


def _chart_tool(name: str) -> Path:
    binary = toolchain_bin() / name
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"{name} is not at {binary}: run `make toolchain` (tests/chart/toolchain/build.sh) "
            "to build it, or set EGRESS_WEBHOOK_CACHE to the cache that has it",
            pytrace=False,
        )
    return binary


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool, built from the pinned Prometheus module."""
    return _chart_tool("promtool")


@pytest.fixture(scope="session")
def helm_docs() -> Path:
    """helm-docs, built from its pinned module."""
    return _chart_tool("helm-docs")
