"""The server's application state: the serving policy (reloaded from disk) and the typed AppKeys."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from webhook.cluster.view import ClusterView
from webhook.collector import releasing
from webhook.errors import PolicyInvalidError
from webhook.policy.index import CompiledPolicy
from webhook.server.connections import ConnectionTable
from webhook.server.metrics import WebhookMetrics
from webhook.server.policy_process import give_way, read_in_child, read_policy
from webhook.server.tls import ServingCertificate
from webhook.server.watch import read_version, stat_version
from webhook.server.workers import Worker
from webhook.settings import Settings


@dataclass(frozen=True, slots=True)
class PolicyReloadFailure:
    """Why the policy file on disk is not the one serving."""

    at: dt.datetime
    problems: tuple[str, ...]
    sha256: str


class ActivePolicy:
    """The policy decisions are made with: the last one that loaded cleanly from `path`.

    A changed file that fails to load never replaces it; the failure is kept in
    `last_failure` (for /readyz and the log) until the file loads or goes back to the
    content that is serving.
    """

    def __init__(self, path: Path) -> None:
        """Load `path`; raises PolicyInvalidError (start-up must not serve without a policy)."""
        self.path = path
        self.compiled, self.version = read_policy(path)
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.last_failure: PolicyReloadFailure | None = None

    @property
    def sha256(self) -> str:
        """Content hash of the serving policy file."""
        return self.version.sha256

    def changed(self) -> bool:
        """True when the file may have changed since it was last read."""
        try:
            return not stat_version(self.path).same_stat(self.version)
        except OSError:
            return True

    async def reload(self, idle: Callable[[], Awaitable[object]] | None = None) -> bool | None:
        """Load the file if its content changed.

        Returns True when the new policy is serving, None when nothing changed (or the
        same failure is still there), and False for a new failure (see `last_failure`).
        The file is hashed in a thread and read by a child process (read_in_child):
        what runs on the event loop is handed over in slices, between admissions, each
        slice waiting (briefly) for `idle()`: no admission in progress.
        """
        try:
            _, version = await asyncio.to_thread(read_version, self.path)
        except OSError as exc:
            return self._fail(PolicyInvalidError.unreadable(str(self.path), exc).problems, "")
        if version.sha256 == self.version.sha256:
            self.version = version
            self.last_failure = None
            return None
        if self.last_failure is not None and self.last_failure.sha256 == version.sha256:
            return None
        try:
            sha256, compiled = await read_in_child(self.path, idle)
        except PolicyInvalidError as exc:
            return self._fail(exc.problems, version.sha256)
        if sha256 != version.sha256:  # changed again while it was read: the next pass
            return None
        replaced = [self.compiled]
        self.compiled = compiled
        self.version = version
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.last_failure = None
        await _retire(replaced, idle)
        return True

    def _fail(self, problems: list[str], sha256: str) -> bool | None:
        previous = self.last_failure
        if previous is not None and (previous.sha256, previous.problems) == (
            sha256,
            tuple(problems),
        ):
            return None
        self.last_failure = PolicyReloadFailure(dt.datetime.now(dt.UTC), tuple(problems), sha256)
        return False


#: How long a replaced policy waits for the reviews still deciding with it.
_RETIRE_WAIT = 10.0


async def _retire(
    replaced: list[CompiledPolicy], idle: Callable[[], Awaitable[object]] | None
) -> None:
    """Free the policy handed over in `replaced` a step at a time (see releasing).

    Freeing 100,000 entries at once held the interpreter 0.13 s: every admission waited.
    So this waits (briefly: a review decides in microseconds, an audit pass in seconds)
    until it holds the only reference, takes the index and the entries out, and frees
    them a step at a time on the event loop, giving way to the admissions in between.
    """
    policy = replaced.pop()
    deadline = time.monotonic() + _RETIRE_WAIT
    # two references: `policy` and getrefcount's own argument
    # nothing signals a dropped reference: poll
    while sys.getrefcount(policy) > 2 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    entries = list(policy.policy.allowlist)
    # its index: lists and mappings as long as the allowlist, nobody else's now (not the
    # Policy model: held here, its allowlist would free every entry at once on return)
    parts = [getattr(policy, name, None) for name in CompiledPolicy.__slots__]
    parts = [part for part in parts if isinstance(part, list | dict)]
    del policy
    # The index first, the entries last: objects die with the last reference to them,
    # and memory goes back to the system when the last object in its arena dies. The
    # entries released in order empty the arenas one after another; the index's host
    # strings released last emptied hundreds of arenas at once (10 ms in one step).
    for _ in releasing(*parts):
        await give_way(idle)
    for _ in releasing(entries):
        await give_way(idle)


class InFlight:
    """Requests being handled, so a drain can wait for them.

    aiohttp's own graceful shutdown stops reading from connections as soon as it
    starts, so a review whose body is still arriving would never finish; serve waits
    here first, with the listener closed, and only then lets aiohttp shut down.
    """

    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count one request for as long as the block runs."""
        self.count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def idle(self) -> None:
        """Return once no request is in flight (at once if none is)."""
        await self._idle.wait()

    async def drained(self, grace: float) -> bool:
        """Wait until no request is in flight; False if `grace` seconds ran out first."""
        self.draining = True
        try:
            async with asyncio.timeout(grace):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


SETTINGS = web.AppKey("settings", Settings)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
POLICY = web.AppKey("policy", ActivePolicy)
CERTIFICATE = web.AppKey("certificate", ServingCertificate)
METRICS = web.AppKey("metrics", WebhookMetrics)
#: Set only when the server runs with a cluster view (serve --kubeconfig / --in-cluster).
CLUSTER_VIEW = web.AppKey("cluster_view", ClusterView)
CONNECTIONS = web.AppKey("connections", ConnectionTable)
#: Set in a worker of `serve --workers N` (N > 1): which one, and where its siblings are.
WORKER = web.AppKey("worker", Worker)
