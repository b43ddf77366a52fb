"""A policy read by a child process (read_in_child): what the server gets, every way it fails."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from bench.workload import sized_policy_text
from tests.integration.conftest import TIMEOUT
from webhook.errors import PolicyInvalidError
from webhook.policy.index import BoundedMemo, CompiledPolicy
from webhook.policy.loader import parse_policy
from webhook.server import policy_process
from webhook.server.policy_process import (
    CHILD_NICENESS,
    CHILD_OOM_SCORE_ADJ,
    give_way,
    read_in_child,
)

BROKEN = "allowlist:\n  - host: api.example.com\n    ports: [{number: 99999}]\n"


def _slots(policy: CompiledPolicy) -> dict[str, object]:
    return {
        name: getattr(policy, name)
        for name in CompiledPolicy.__slots__
        if not isinstance(getattr(policy, name), BoundedMemo)
    }


def _file(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "policy.yaml"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


async def test_the_child_reads_the_policy_the_server_would_read_itself(tmp_path: Path) -> None:
    text = sized_policy_text(3000)
    path = _file(tmp_path, text)
    sha256, read = await read_in_child(path)
    assert sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert _slots(read) == _slots(parse_policy(text, str(path)))


async def test_an_invalid_policy_fails_with_the_problems_the_server_would_find(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, BROKEN)
    with pytest.raises(PolicyInvalidError) as expected:
        parse_policy(BROKEN, str(path))
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(path)
    assert raised.value.problems == expected.value.problems
    assert any(f"{path}:3" in problem for problem in raised.value.problems)


@pytest.mark.parametrize(
    ("content", "said"), [(b"allowlist: [\xff]\n", "utf-8"), (None, "No such file")]
)
async def test_a_file_that_cannot_be_read_is_refused_as_unreadable(
    tmp_path: Path, content: bytes | None, said: str
) -> None:
    path = _file(tmp_path, content) if content is not None else tmp_path / "gone.yaml"
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(path)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}: cannot read the file:")
    assert said in problem


async def test_a_child_that_dies_without_a_policy_is_a_failed_reload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a real process that exits early and says why, as an OOM-killed reader would
    died = tmp_path / "died.py"
    died.write_text("import sys\nsys.stderr.write('out of memory\\n')\nsys.exit(137)\n")
    real = sys.executable
    monkeypatch.setattr(policy_process, "reader_argv", lambda source: [real, str(died)])
    path = _file(tmp_path, "allowlist: []\n")
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(path)
    assert raised.value.problems == [
        f"{path}: the policy reader exited with code 137 before giving a policy: out of memory"
    ]


async def test_a_reader_that_cannot_start_is_a_failed_reload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-python-here")
    real = policy_process.reader_argv
    monkeypatch.setattr(policy_process, "reader_argv", lambda source: [missing, *real(source)[1:]])
    path = _file(tmp_path, "allowlist: []\n")
    with pytest.raises(PolicyInvalidError) as raised:
        await read_in_child(path)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}: cannot start the policy reader:")


async def test_the_reader_is_not_started_by_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """uvloop's spawn forks: with a 100,000-entry policy held, the loop waited 30-40 ms
    (the bench's reload p99 went from 1.1x to 3x); subprocess vforks in a millisecond."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the policy reader was spawned by the event loop")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    monkeypatch.setattr(asyncio.subprocess, "create_subprocess_exec", refuse)
    sha256, compiled = await read_in_child(_file(tmp_path, "allowlist: []\n"))
    assert isinstance(compiled, CompiledPolicy)
    assert sha256


def _writer_once_read(fifo: Path) -> BinaryIO:
    """The FIFO's write end, once a process has opened it to read (within TIMEOUT).

    Opening a FIFO for writing returns when a reader opens it: the policy reader does
    that only after it has set its priority, its oom_score_adj and its parent-death
    signal, so from then on those can be looked at.
    """
    opened: list[BinaryIO] = []
    thread = threading.Thread(target=lambda: opened.append(fifo.open("wb")), daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if not opened:
        with fifo.open("rb"):  # lets the thread's open return, so that it ends
            thread.join()
        for stream in opened:
            stream.close()
        pytest.fail(f"no process opened {fifo} to read it within {TIMEOUT} s")
    return opened[0]


def test_the_child_runs_at_a_lower_cpu_priority_and_is_the_first_to_go_out_of_memory(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)  # the child waits on opening it: time to look at the child
    child = subprocess.Popen(
        [sys.executable, "-m", "webhook.server.policy_process", str(fifo)],
        stdout=subprocess.DEVNULL,
    )
    try:
        with _writer_once_read(fifo) as policy:
            assert os.getpriority(os.PRIO_PROCESS, child.pid) == max(
                CHILD_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)
            )
            oom_score_adj = Path(f"/proc/{child.pid}/oom_score_adj").read_text()
            assert oom_score_adj.strip() == str(CHILD_OOM_SCORE_ADJ)
            policy.write(b"allowlist: []\n")
    finally:
        if child.poll() is None and child.wait(TIMEOUT) is None:  # pragma: no cover
            child.kill()
    assert child.returncode == 0


async def test_the_reload_gives_way_to_a_review_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(policy_process, "GIVE_WAY_FOR", 30.0)  # never the bound, here
    idle = asyncio.Event()
    loop = asyncio.get_running_loop()
    # a review in progress ends three passes of the loop from now (its TLS records, the
    # request, the answer); give_way's own pass alone would return before that
    loop.call_soon(loop.call_soon, loop.call_soon, idle.set)
    await give_way(idle.wait)
    assert idle.is_set(), "the reload went on while the review was in progress"


async def test_a_server_never_idle_still_finishes_its_reload() -> None:
    never = asyncio.Event()
    async with asyncio.timeout(30):
        await give_way(never.wait)  # returns after GIVE_WAY_FOR


def test_a_server_killed_outright_takes_its_reader_with_it(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)  # the file never ends: on its own, the reader would read it for good
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys\n"
         f"child = subprocess.Popen([sys.executable, '-m', 'webhook.server.policy_process', "
         f"{str(fifo)!r}])\n"
         "print(child.pid, flush=True)\n"
         "sys.stdin.read()\n"],  # until the test is done with it
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert server.stdin is not None
    assert server.stdout is not None
    reader = int(server.stdout.readline())
    exited = os.pidfd_open(reader)  # readable once the reader has exited
    try:
        with _writer_once_read(fifo):  # the reader has asked to die with its parent
            server.kill()
            server.wait(TIMEOUT)
            ready, _, _ = select.select([exited], [], [], TIMEOUT)
            assert ready, "the reader outlived the server"
    finally:
        if not select.select([exited], [], [], 0)[0]:  # pragma: no cover - a failed run
            signal.pidfd_send_signal(exited, signal.SIGKILL)
        os.close(exited)
        server.stdin.close()
        server.stdout.close()
        if server.poll() is None:  # pragma: no cover - a failed run
            server.kill()
            server.wait(TIMEOUT)


async def test_the_collector_runs_while_the_child_reads_and_is_paused_only_to_build(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)  # the child waits on opening it: the server meanwhile goes on
    reading = asyncio.create_task(read_in_child(fifo))
    policy = await asyncio.to_thread(_writer_once_read, fifo)
    with policy:  # the child is reading the file
        assert gc.isenabled(), "the collector was paused while the child read"
        assert not reading.done()
        await asyncio.to_thread(policy.write, sized_policy_text(2000).encode())
    _, read = await reading
    assert isinstance(read, CompiledPolicy)
    assert gc.isenabled()
