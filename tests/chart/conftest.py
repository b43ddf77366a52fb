"""The `helm` fixture: the toolchain's helm, or a failure that says how to build it."""

from __future__ import annotations

import os

import pytest

from tests.chart.rendering import Helm, helm_path


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
