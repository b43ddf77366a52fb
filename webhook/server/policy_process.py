"""A policy reload read in a child process and handed to the server a slice at a time.

Reading a 100,000-entry policy is seconds of CPU. In a thread of the server it shared
the interpreter lock with the event loop: every admission answered during the reload
waited on it, at every read and write, and the p99 of reviews grew 3 to 6 times. Here a
child process (`python -m webhook.server.policy_process PATH`: nice 10, the first the
kernel kills when memory runs out, gone with its server) reads the file and validates
and indexes it with the very same `parse_policy`, then writes the result back as a
stream of small pickles: no message holds a list, tuple or mapping of more than SLICE
items, nor more than _BUDGET items of such containers in all. The server unpickles one
message at a time on its event loop, and before the next waits (give_way) until no
review is in progress, so no review waits on the reload for more than one message (a
fraction of a millisecond).

How the result is cut up (`Frames`, in the child): the objects in `shared` (the
allowlist entries, which the index holds several times) go first, SHARED_SLICE at a
time, each whole; every later mention of one is a reference to it. Then any list, tuple
or mapping longer than SLICE found while pickling a message, or one that would take the
message past _BUDGET items, is sent before that message (in parts when long), and the
message holds a reference to the whole. `Assembler` (in the server) rebuilds them in
that order. The pickles come only from the child the server started, over its own pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from webhook.collector import collector_paused
from webhook.errors import PolicyInvalidError
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy
from webhook.server.watch import FileVersion, read_version
from webhook.server.workers import die_with_parent

#: Items of a list, tuple or mapping in one message (about 0.15 ms of unpickling).
SLICE = 256
#: Shared objects in one message: models, each ten times the unpickling of an item.
SHARED_SLICE = 64
#: Containers this short are never sent on their own (their parent's length counts them).
_SMALL = 16
#: Items of containers longer than _SMALL in one message: more go in messages of their own.
_BUDGET = 4 * SLICE
#: Reloads between two collections of what earlier loads froze (see collector_paused):
#: each is a full collection on the event loop (350 ms with 100,000 entries). What a
#: reload freezes by accident is the garbage cycles made while its policy was built: a
#: review makes none (500 reviews, client included, left 0 unreachable objects), so this
#: is mostly the odd error's traceback; parse_policy's COMPACT_EVERY (16) is for loads
#: that take the whole read under the pause.
RELOADS_PER_COMPACTION = 256
#: The longest the reload waits between two messages for the reviews in progress.
GIVE_WAY_FOR = 0.002
#: The child's nice value: the server's admissions come first on a busy node.
CHILD_NICENESS = 10
#: The child's oom_score_adj: the first process the kernel kills when memory runs out.
CHILD_OOM_SCORE_ADJ = 1000
#: The length prefix of a message.
_HEADER = struct.Struct(">I")
#: The stderr kept of a child that failed: its last lines, and how long to wait for them.
_STDERR_KEPT = 4096
_STDERR_WAIT = 5.0

_CONTAINERS = (list, tuple, dict)


class Frames:
    """The child's side: one object cut into messages, each handed to `emit` as bytes."""

    def __init__(self, emit: Callable[[bytes], None]) -> None:
        self._emit = emit
        self._refs: dict[int, int] = {}
        self._wholes = 0

    def send(self, root: object, shared: Sequence[object] = ()) -> None:
        """Emit `shared` (SHARED_SLICE at a time), then `root`, referring to them by position."""
        for start in range(0, len(shared), SHARED_SLICE):  # plain pickles: 3x faster
            chunk = ("shared", list(shared[start : start + SHARED_SLICE]))
            self._emit(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        self._refs = {id(item): index for index, item in enumerate(shared)}
        self._emit(self._dump(("root", root)))

    def _dump(self, message: tuple[Any, ...]) -> bytes:
        buffer = io.BytesIO()
        _Splitter(buffer, self, message).dump(message)
        return buffer.getvalue()

    def _whole(self, container: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> int:
        """Emit a long container in parts; the number the messages after it refer to it by."""
        number = self._wholes
        self._wholes += 1
        kind = type(container).__name__
        items = list(container.items()) if isinstance(container, dict) else list(container)
        for start in range(0, len(items), SLICE):
            self._emit(self._dump(("part", number, kind, items[start : start + SLICE])))
        if not items:
            self._emit(self._dump(("part", number, kind, [])))
        return number


class _Splitter(pickle.Pickler):
    def __init__(self, buffer: io.BytesIO, frames: Frames, message: tuple[Any, ...]) -> None:
        super().__init__(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._frames = frames
        self._message = message
        self._items = 0

    def persistent_id(self, obj: Any) -> Any:
        if obj is self._message:
            return None
        index = self._frames._refs.get(id(obj))
        if index is not None:
            return ("shared", index)
        if type(obj) in _CONTAINERS:
            size = len(obj)
            if size > _SMALL:
                self._items += size
                if size > SLICE or self._items > _BUDGET:  # on its own: in parts, or whole
                    self._items -= size
                    return ("whole", self._frames._whole(obj))
        return None


class Assembler:
    """The server's side: feed it the child's messages in order; then `result` is the root."""

    def __init__(self) -> None:
        self._shared: list[Any] = []
        #: container number -> (its kind, the list or mapping being filled)
        self._filling: dict[int, tuple[str, Any]] = {}
        self._wholes: dict[int, Any] = {}
        self.result: Any = None
        self.started = False
        self.done = False

    def feed(self, message: bytes) -> None:
        """Unpickle one message (SLICE items at most) and put it where it belongs."""
        self.started = True
        tag, *rest = _Joiner(io.BytesIO(message), self).load()
        if tag == "shared":
            self._shared.extend(rest[0])
        elif tag == "part":
            number, kind, items = rest
            _, filling = self._filling.setdefault(number, (kind, {} if kind == "dict" else []))
            filling.update(items) if kind == "dict" else filling.extend(items)
        elif tag == "root":
            self.result = rest[0]
            self.done = True
        else:
            raise ValueError(f"unknown message {tag!r}")

    def whole(self, number: int) -> Any:
        """Container `number`, complete at its first mention: all its parts came before."""
        if number not in self._wholes:
            kind, filling = self._filling.pop(number)
            self._wholes[number] = tuple(filling) if kind == "tuple" else filling
        return self._wholes[number]

    def shared(self, index: int) -> Any:
        """The `index`-th shared object."""
        return self._shared[index]


class _Joiner(pickle.Unpickler):
    def __init__(self, buffer: io.BytesIO, assembler: Assembler) -> None:
        super().__init__(buffer)
        self._assembler = assembler

    def persistent_load(self, pid: Any) -> Any:
        kind, number = pid
        if kind == "shared":
            return self._assembler.shared(number)
        return self._assembler.whole(number)


async def read_in_child(
    path: Path, idle: Callable[[], Awaitable[object]] | None = None
) -> tuple[str, CompiledPolicy]:
    """The policy file at `path` read by a child process: its content's sha256, and it.

    Between two messages it gives way to the admissions in progress (see give_way).

    Raises PolicyInvalidError with the problems parse_policy found, or with why the
    child gave no policy (it could not start, or died: killed for memory, say). Only
    unpickling and putting the parts together run here, on the event loop, one message
    at a time; the collector is paused from the first message on (not while the child
    reads: what other work leaves as garbage then is collected as usual) and then never
    walks the new policy (collector_paused with keep, as parse_policy does).
    """
    source = str(path)
    try:
        process = _spawn(source)
    except OSError as exc:
        problem = f"{source}: cannot start the policy reader: {exc}"
        raise PolicyInvalidError(source, [problem]) from None
    assembler = Assembler()
    async with _pipes(process) as (stdout, stderr):
        errors = asyncio.create_task(_tail(stderr))
        try:
            with contextlib.ExitStack() as paused:
                while not assembler.done:
                    try:
                        (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
                        message = await stdout.readexactly(size)
                    except asyncio.IncompleteReadError:
                        break
                    if not assembler.started:  # not while the child reads: what is built
                        paused.enter_context(
                            collector_paused(keep=True, compact_every=RELOADS_PER_COMPACTION)
                        )
                    assembler.feed(message)
                    await give_way(idle)
            code = await asyncio.to_thread(process.wait)
        except BaseException:
            errors.cancel()
            raise
        finally:
            if process.returncode is None:
                process.kill()
                await asyncio.to_thread(process.wait)
        try:  # the child is gone: its stderr ends now (unless a process it left holds it)
            async with asyncio.timeout(_STDERR_WAIT):
                tail = await errors
        except TimeoutError:
            tail = ""
    if assembler.done:
        sha256, result = assembler.result
        if isinstance(result, CompiledPolicy):
            return sha256, result
        raise PolicyInvalidError(source, list(result))
    said = tail.strip().splitlines()[-1] if tail.strip() else ""
    raise PolicyInvalidError(
        source,
        [f"{source}: the policy reader exited with code {code} before giving a policy"
         + (f": {said}" if said else "")],
    )  # fmt: skip


def reader_argv(source: str) -> list[str]:
    """The child's command line: this module, run by the server's own interpreter."""
    return [sys.executable, "-m", __name__, source]


def _spawn(source: str) -> subprocess.Popen[bytes]:
    """The child, started by subprocess (vfork and exec: about a millisecond).

    Not by the event loop's own spawn: uvloop's (libuv's uv_spawn) forks, and forking a
    server that holds a 100,000-entry policy copies its page tables while the loop
    waits, 30 to 40 ms in which no review is answered.
    """
    return subprocess.Popen(
        reader_argv(source),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@contextlib.asynccontextmanager
async def _pipes(
    process: subprocess.Popen[bytes],
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamReader]]:
    """StreamReaders on the loop for the child's stdout and stderr; closed on the way out."""
    loop = asyncio.get_running_loop()
    readers: list[asyncio.StreamReader] = []
    transports: list[asyncio.BaseTransport] = []
    try:
        for pipe in (process.stdout, process.stderr):
            reader = asyncio.StreamReader()
            transport, _ = await loop.connect_read_pipe(functools.partial(_protocol, reader), pipe)
            readers.append(reader)
            transports.append(transport)
        yield readers[0], readers[1]
    finally:
        for opened in transports:
            opened.close()


def _protocol(reader: asyncio.StreamReader) -> asyncio.StreamReaderProtocol:
    return asyncio.StreamReaderProtocol(reader)


async def give_way(idle: Callable[[], Awaitable[object]] | None) -> None:
    """One pass of the event loop, then, given `idle`, wait on it for up to GIVE_WAY_FOR.

    A pass alone is not enough: a review takes several passes (TLS records, the
    request, the handler, the answer), and in each the loop would run a slice of the
    reload first. So background work waits until no review is in progress (`idle()`
    returns); for a bounded time, so that a server never idle still finishes its reload.
    """
    await asyncio.sleep(0)
    if idle is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GIVE_WAY_FOR):
                await idle()


async def _tail(stream: asyncio.StreamReader) -> str:
    """What the child wrote to stderr: its last _STDERR_KEPT bytes."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-_STDERR_KEPT:]
    return kept.decode("utf-8", "replace")


def read_policy(path: Path) -> tuple[CompiledPolicy, FileVersion]:
    """The policy file at `path` read, validated and indexed, and the version read.

    Raises PolicyInvalidError: the file cannot be read, or what parse_policy found.
    """
    source = str(path)
    try:
        data, version = read_version(path)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalidError.unreadable(source, exc) from None
    return parse_policy(text, source), version


def main(argv: list[str] | None = None) -> int:
    """The child: reads the policy file named in argv, writes the messages to stdout.

    The root message is (the sha256 read, the CompiledPolicy), or ("", the problems).
    Every message is pickled before the first is written: the server then unpickles
    while this process sleeps on a full pipe, rather than the two taking turns on one
    core.
    """
    (source,) = sys.argv[1:] if argv is None else argv
    die_with_parent()  # a server killed outright takes its reader with it
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)
    # Out of memory (a policy too large for the pod's limit), the kernel kills this
    # process rather than a server: the reload fails and the old policy keeps serving.
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write(str(CHILD_OOM_SCORE_ADJ))
    messages: list[bytes] = []

    def emit(message: bytes) -> None:
        messages.append(_HEADER.pack(len(message)))
        messages.append(message)

    try:
        compiled, version = read_policy(Path(source))
    except PolicyInvalidError as exc:
        Frames(emit).send(("", list(exc.problems)))
    else:
        Frames(emit).send((version.sha256, compiled), compiled.policy.allowlist)
    sys.stdout.buffer.writelines(messages)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
