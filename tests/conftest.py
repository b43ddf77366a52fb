"""Shared fixtures: the example policy and a way to write policies inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy, parse_policy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"

#: Fixtures that hand a test a binary `make toolchain` builds with Go (helm, opa,
#: promtool, helm-docs).
TOOLCHAIN_FIXTURES = frozenset({"helm", "opa_binary", "promtool", "helm_docs"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs more than Python, so `make unit` can deselect it (never skip it).

    Everything under tests/e2e drives a real cluster (`e2e`); a test using helm or opa
    needs the Go-built toolchain (`toolchain`). `make test` runs both.
    """
    for item in items:
        if "tests/e2e/" in item.nodeid or item.nodeid.startswith("e2e/"):
            item.add_marker(pytest.mark.e2e)
        if TOOLCHAIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.toolchain)


@pytest.fixture(scope="session")
def example_policy() -> CompiledPolicy:
    """The policy from examples/policy.yaml, compiled."""
    return load_policy(EXAMPLE_POLICY)


def policy_from(text: str) -> CompiledPolicy:
    """Compile policy YAML given inline in a test."""
    return parse_policy(text, "<test>")
