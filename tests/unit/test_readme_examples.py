"""The README's policy and suite examples are the files the examples suite checks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


def body(path: Path) -> str:
    """The file without its leading comment lines (the README explains them in prose)."""
    lines = path.read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def test_the_policy_file_example_is_examples_policy_yaml() -> None:
    (block,) = yaml_blocks(section("The policy file"))
    assert block == body(ROOT / "examples" / "policy.yaml")


def test_the_suite_example_is_examples_suite_yaml() -> None:
    (block,) = yaml_blocks(section("Policy test suites"))
    assert block == body(ROOT / "examples" / "suite.yaml")
