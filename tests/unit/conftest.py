"""Unit-test helpers shared by the rule tables."""

from __future__ import annotations

from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy


def policy_from(text: str) -> CompiledPolicy:
    """Compile policy YAML given inline in a test."""
    return parse_policy(text, "<test>")
