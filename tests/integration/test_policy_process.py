"""A policy read by a child process (read_in_child): what the server gets, every way it fails."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bench.workload import sized_policy_text
from webhook.errors import PolicyInvalidError
from webhook.policy.index import BoundedMemo, CompiledPolicy
from webhook.policy.loader import parse_policy
from webhook.server import policy_process
from webhook.server.policy_process import CHILD_NICENESS, CHILD_OOM_SCORE_ADJ, read_in_child

BROKEN = "allowlist:\n  - host: api.example.com\n    ports: [{number: 99999}]\n"


def _slots(policy: CompiledPolicy) -> dict[str, object]:
    return {
        name: getattr(policy, name)
        for name in CompiledPolicy.__slots__
        if not isinstance(getattr(policy, name), BoundedMemo)
    }


async def test_the_child_reads_the_policy_the_server_would_read_itself() -> None:
    text = sized_policy_text(3000)
    read = await read_in_child(text.encode(), "policy.yaml")
    assert _slots(read) == _slots(parse_policy(text, "policy.yaml"))


async def test_an_invalid_policy_fails_with_the_problems_the_server_would_find() -> None:
    with pytest.raises(PolicyInvalidError) as expected:
        parse_policy(BROKEN, "policy.yaml")
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(BROKEN.encode(), "policy.yaml")
    assert raised.value.problems == expected.value.problems
    assert any("policy.yaml:3" in problem for problem in raised.value.problems)


async def test_bytes_that_are_not_utf8_are_refused_as_unreadable() -> None:
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(b"allowlist: [\xff]\n", "policy.yaml")
    (problem,) = raised.value.problems
    assert problem.startswith("policy.yaml: cannot read the file:")
    assert "utf-8" in problem


async def test_a_child_that_dies_without_a_policy_is_a_failed_reload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a real process that exits early and says why, as an OOM-killed reader would
    died = tmp_path / "died.py"
    died.write_text("import sys\nsys.stderr.write('out of memory\\n')\nsys.exit(137)\n")
    real = sys.executable
    monkeypatch.setattr(
        policy_process.asyncio,
        "create_subprocess_exec",
        _with_argv(lambda argv: [real, str(died)]),
    )
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(b"allowlist: []\n", "policy.yaml")
    assert raised.value.problems == [
        "policy.yaml: the policy reader exited with code 137 before giving a policy: out of memory"
    ]


async def test_a_reader_that_cannot_start_is_a_failed_reload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-python-here")
    monkeypatch.setattr(
        policy_process.asyncio,
        "create_subprocess_exec",
        _with_argv(lambda argv: [missing, *argv[1:]]),
    )
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(b"allowlist: []\n", "policy.yaml")
    (problem,) = raised.value.problems
    assert problem.startswith("policy.yaml: cannot start the policy reader:")


def _with_argv(
    change: Callable[[list[str]], list[str]],
) -> Callable[..., Awaitable[asyncio.subprocess.Process]]:
    """asyncio.create_subprocess_exec starting `change(argv)` instead of argv."""
    original = asyncio.create_subprocess_exec

    async def start(*argv: str, **kwargs: Any) -> asyncio.subprocess.Process:
        return await original(*change(list(argv)), **kwargs)

    return start


def test_the_child_runs_at_a_lower_cpu_priority_and_is_the_first_to_go_out_of_memory() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "webhook.server.policy_process", "policy.yaml"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    oom_score_adj = Path(f"/proc/{child.pid}/oom_score_adj")
    try:
        expected = (
            max(CHILD_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)),
            str(CHILD_OOM_SCORE_ADJ),
        )
        deadline = time.monotonic() + 30
        # both are set before the child reads its input: poll what can be observed
        while (
            os.getpriority(os.PRIO_PROCESS, child.pid),
            oom_score_adj.read_text().strip(),
        ) != expected:
            assert child.poll() is None, "the child exited before reading its input"
            assert time.monotonic() < deadline, "the child never lowered its priority"
            time.sleep(0.02)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)
