"""The README's table of kinds says what the registry says: every kind, version and rule."""

from __future__ import annotations

import re
from pathlib import Path

from webhook.policy.kinds import KINDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _kinds_table() -> list[list[str]]:
    section = README.split("## Kinds checked", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_every_registered_kind_has_a_row_naming_its_versions_and_rules() -> None:
    rows = _kinds_table()
    for kind in KINDS:
        # Two kinds are called Gateway: the row's versions cell names the group.
        [row] = [r for r in rows if f"`{kind.kind}`" in r[0] and kind.group in r[1]]
        for version in kind.versions:
            assert version in row[1], (kind.kind, version)
        listed = set(re.findall(r"`([a-z-]+)`", row[2]))
        assert {rule.__module__.rsplit(".", 1)[1].replace("_", "-") for rule in kind.rules} == (
            listed
        ), kind.kind


def test_no_row_names_a_kind_the_registry_lacks() -> None:
    for row in _kinds_table():
        for name in re.findall(r"`(\w+)`", row[0]):
            assert name in KINDS.names, name
