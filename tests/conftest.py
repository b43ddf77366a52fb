"""Shared fixtures: the example policy and a way to write policies inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import load_policy, parse_policy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"


@pytest.fixture(scope="session")
def example_policy() -> CompiledPolicy:
    """The policy from examples/policy.yaml, compiled."""
    return load_policy(EXAMPLE_POLICY)


def policy_from(text: str) -> CompiledPolicy:
    """Compile policy YAML given inline in a test."""
    return parse_policy(text, "<test>")
