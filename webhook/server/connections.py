"""Client connections: accepting them under a cap, TLS, and the deadlines that drop slow clients.

aiohttp's own server accepts every connection the kernel hands it and, by default,
waits an hour for a request's headers. Here our listener accepts them itself, so it
can count every open socket (TLS handshakes included) and hold it under a cap, and
each connection carries one deadline for the phase it is in:

- TLS handshake, then the request line and headers: `header_timeout` from accept;
- a kept-alive connection with no request: `idle_timeout`, then (once the next
  request's first byte arrives) `header_timeout` again for its headers;
- while a request is handled there is no connection deadline: the body has its own
  (`body_timeout`, in the admission_body middleware) and deciding takes milliseconds.

A connection past its deadline is aborted: no TLS close_notify, no flushing to a peer
that does not read. At the cap, a new connection takes the place of one without a request
in progress: first one whose client has sent nothing, then one still in its TLS
handshake, then one that never completed a request (a slowloris never does), then a
kept-alive one; the oldest of each. When every
connection is busy with a request, the listener stops accepting until one ends, and the
kernel's backlog holds the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import resource
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from webhook.server.metrics import WebhookMetrics
from webhook.settings import Settings

log = logging.getLogger("webhook.server")

#: A timer that fires this much (seconds) or less before its deadline counts as on time.
_EARLY = 0.001

#: File descriptors kept for everything but client connections: the listening sockets,
#: epoll, the loop's self-pipe, stdio, policy and certificate reads, worker threads.
RESERVED_FDS = 64


class Phase(enum.Enum):
    """Where a connection is in its life; each phase but REQUEST has a deadline."""

    TLS_HANDSHAKE = "tls_handshake"
    HEADERS = "headers"
    REQUEST = "request"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The limits the listener enforces (from Settings, with the cap fitted to RLIMIT_NOFILE)."""

    header_timeout: float
    idle_timeout: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        cap = settings.max_connections
        if soft != resource.RLIM_INFINITY:
            cap = max(1, min(cap, soft - RESERVED_FDS))
        return cls(settings.header_timeout, settings.idle_timeout, cap)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; returns (soft, hard) after.

    Each client connection is a descriptor; the default soft limit (often 1024) would
    cap connections far below what the hard limit allows the process.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # an unlimited hard limit is not a valid soft value for NOFILE (Linux caps it at
    # fs.nr_open, 1048576 by default)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class ClientConnection(asyncio.Protocol):
    """One client connection: aiohttp's RequestHandler inside, our deadline around it.

    Every protocol callback is passed on to the handler unchanged; the middleware tells
    the connection when a request starts and ends (see `of_request`).
    """

    def __init__(
        self, table: ConnectionTable, make_handler: Callable[[], RequestHandler], now: float
    ) -> None:
        self.table = table
        self._make_handler = make_handler
        self.handler: RequestHandler | None = None
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Task[None] | None = None
        self.phase = Phase.TLS_HANDSHAKE
        #: Requests answered on this connection.
        self.served = 0
        #: When the current phase must end (loop time); None while a request is handled.
        self.deadline: float | None = now + table.limits.header_timeout
        #: The eviction queue the connection waits in (None while a request is handled).
        self.queue: OrderedDict[ClientConnection, None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        #: When `_timer` fires: never later than `deadline`, maybe earlier (see `arm`).
        self._timer_at = 0.0

    @staticmethod
    def of_request(request: web.BaseRequest) -> ClientConnection | None:
        """The connection a request came in on, when our listener accepted it."""
        transport = request.transport
        protocol = transport.get_protocol() if transport is not None else None
        return protocol if isinstance(protocol, ClientConnection) else None

    # --- asyncio.Protocol, passed on to aiohttp --------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's transports are asyncio.Transport; uvloop's SSL transport is not one
        # by class, though it has the same methods
        self.transport = cast(asyncio.Transport, transport)
        self.handler = self._make_handler()
        self.handler.connection_made(transport)
        # the header deadline still counts from accept: the handshake was part of it
        self.table.enter(self, Phase.HEADERS, self.deadline)

    def data_received(self, data: bytes) -> None:
        if self.phase is Phase.IDLE:
            self.table.enter(
                self, Phase.HEADERS, self.table.now() + self.table.limits.header_timeout
            )
        assert self.handler is not None
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        assert self.handler is not None
        self.handler.eof_received()
        # aiohttp's handler returns None too: the transport closes itself
        return None

    def pause_writing(self) -> None:
        assert self.handler is not None
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        assert self.handler is not None
        self.handler.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.table.remove(self)
        if self.handler is not None:
            self.handler.connection_lost(exc)

    # --- requests and deadlines --------------------------------------------------------

    def request_started(self) -> None:
        """The request's headers are in: no connection deadline while it is handled."""
        self.table.enter(self, Phase.REQUEST, None)

    def request_finished(self) -> None:
        """The handler answered: the connection idles until the next request."""
        self.served += 1
        self.table.enter(self, Phase.IDLE, self.table.now() + self.table.limits.idle_timeout)

    def arm(self, deadline: float | None, loop: asyncio.AbstractEventLoop) -> None:
        """Drop the connection at `deadline` (loop time), unless it moves on first.

        Lazily: a timer already set to fire no later than `deadline` is kept, and when
        it fires early it sets itself again for the deadline then current. A kept-alive
        connection under load moves through three phases a request without touching the
        loop's timer heap; only a deadline earlier than the timer's replaces it.
        """
        self.deadline = deadline
        if deadline is None or (self._timer is not None and self._timer_at <= deadline):
            return
        self.disarm()
        self._timer_at = deadline
        self._timer = loop.call_at(deadline, self._expired, loop)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        deadline = self.deadline
        if deadline is None:
            return  # a request is being handled; its end sets the next deadline
        if deadline - loop.time() > _EARLY:
            self.arm(deadline, loop)
            return
        reason = "header_timeout" if self.phase is Phase.HEADERS else "idle_timeout"
        if self.phase in (Phase.HEADERS, Phase.IDLE):
            self.drop(reason)

    def drop(self, reason: str) -> None:
        """Close now, without TLS close_notify or flushing to a client that does not read."""
        self.table.closed(reason, self)
        if self.transport is not None:
            self.transport.abort()
        elif self.handshake is not None:
            # the cancelled handshake closes the socket (asyncio's transport aborts it,
            # or the listener does if it had not handed it over yet)
            self.handshake.cancel()


class ConnectionTable:
    """Every open client connection, the cap, and who goes first when it is reached."""

    def __init__(self, settings: Settings, metrics: WebhookMetrics) -> None:
        self.limits = ConnectionLimits.from_settings(settings)
        self._metrics = metrics
        self._open: set[ClientConnection] = set()
        # Eviction candidates, in the order they go, each oldest first: connections that
        # have not completed a request (bare TCP, a TLS handshake, a slowloris's headers),
        # then kept-alive ones that have served one. Among the first, age alone decides:
        # a real client is through its handshake and request in milliseconds, while
        # ordering them by phase (bare ones first) let a slowloris that got past TLS
        # keep its slot, and a new client whose ClientHello the loop had not read yet
        # be evicted in its place.
        self._waiting: OrderedDict[ClientConnection, None] = OrderedDict()
        self._kept: OrderedDict[ClientConnection, None] = OrderedDict()
        self._queues = (self._waiting, self._kept)
        #: Called whenever a connection ends or becomes evictable: a paused listener resumes.
        self.on_room: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        metrics.open_connections.set_function(lambda: len(self._open))
        metrics.connection_limit.set(self.limits.max_connections)

    def __len__(self) -> int:
        return len(self._open)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return self.loop.time()

    def full(self) -> bool:
        return len(self._open) >= self.limits.max_connections

    def evictable(self) -> bool:
        return any(self._queues)

    def add(self, make_handler: Callable[[], RequestHandler]) -> ClientConnection:
        """Register a just-accepted connection (its client has sent nothing yet)."""
        connection = ClientConnection(self, make_handler, self.now())
        self._open.add(connection)
        self._queue(connection, self._waiting)
        return connection

    def enter(self, connection: ClientConnection, phase: Phase, deadline: float | None) -> None:
        """Move a connection to `phase`, with its deadline (None: none)."""
        if connection not in self._open:
            return
        connection.phase = phase
        if phase is Phase.REQUEST:
            self._unqueue(connection)
        else:
            self._queue(connection, self._waiting if connection.served == 0 else self._kept)
            self._room()
        connection.arm(deadline, self.loop)

    def evict_oldest(self) -> bool:
        """Close the longest-waiting connection without a request in progress, if any."""
        for queue in self._queues:
            if queue:
                connection = next(iter(queue))
                self._unqueue(connection)
                log.debug(
                    "connection limit (%d) reached: closing a connection waiting in %s",
                    self.limits.max_connections,
                    connection.phase.value,
                    extra={
                        "fields": {"event": "connection_evicted", "phase": connection.phase.value}
                    },
                )
                connection.drop("evicted")
                return True
        return False

    def closed(self, reason: str, connection: ClientConnection | None = None) -> None:
        """Count a connection the server closed on its own, and why."""
        self._metrics.connections_closed.labels(reason=reason).inc()
        if connection is not None:
            self._unqueue(connection)
            connection.disarm()

    def remove(self, connection: ClientConnection) -> None:
        """The connection's socket is closed."""
        self._open.discard(connection)
        self._unqueue(connection)
        connection.disarm()
        self._room()

    def _queue(
        self, connection: ClientConnection, queue: OrderedDict[ClientConnection, None]
    ) -> None:
        """Move `connection` to the back of `queue` (the newest there)."""
        if connection.queue is not None:
            del connection.queue[connection]
        queue[connection] = None
        connection.queue = queue

    def _unqueue(self, connection: ClientConnection) -> None:
        if connection.queue is not None:
            del connection.queue[connection]
            connection.queue = None

    def _room(self) -> None:
        if self.on_room is not None:
            self.on_room()

    def drop_handshakes(self) -> None:
        """Abort every connection still in its TLS handshake (the listener is closing)."""
        for connection in list(self._open):
            if connection.phase is Phase.TLS_HANDSHAKE and connection.handshake is not None:
                connection.handshake.cancel()
