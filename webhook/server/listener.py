"""Accepting client connections under the ConnectionTable's cap, with TLS, on our sockets.

The other half of webhook/server/connections.py: the listening sockets (SO_REUSEPORT for
`serve --workers`), the accept loop that pauses at the cap, the TLS handshake under its
deadline, and the aiohttp site that puts them in place of aiohttp's own server.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from webhook.server.connections import ClientConnection, ConnectionTable

log = logging.getLogger("webhook.server")

#: How long a closing TLS connection waits for the client's close_notify. A client that
#: never sends one would otherwise keep its socket for asyncio's default 30 s.
TLS_CLOSE_TIMEOUT = 2.0
#: Connections the kernel may queue while the listener is at its cap (it clamps this to
#: net.core.somaxconn).
BACKLOG = 1024
#: accept() errors that mean "out of descriptors or memory for now": retry after a pause
#: rather than spin, as asyncio's own server does.
_ACCEPT_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_RETRY_DELAY = 1.0


class GuardedListener(asyncio.AbstractServer):
    """Listening sockets that accept only while the connection table is under its cap.

    Accepting is driven by readiness callbacks, as asyncio's own server does, so that
    pausing at the cap and closing are immediate and synchronous.
    """

    def __init__(
        self,
        sockets: list[socket.socket],
        table: ConnectionTable,
        make_handler: Callable[[], RequestHandler],
        context: ssl.SSLContext,
    ) -> None:
        self._sockets = sockets
        self.table = table
        self._make_handler = make_handler
        self._context = context
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._serving = True
        self._closed = self._loop.create_future()
        table.on_room = self._resume
        self._resume()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def close(self) -> None:
        """Stop accepting; connections already open are left to aiohttp's shutdown."""
        if not self._serving:
            return
        self._serving = False
        self._pause()
        self.table.on_room = None
        for sock in self._sockets:
            sock.close()
        self.table.drop_handshakes()
        self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        """Serving starts in __init__."""

    async def serve_forever(self) -> None:
        await self.wait_closed()

    def _pause(self) -> None:
        if self._reading:
            self._reading = False
            for sock in self._sockets:
                self._loop.remove_reader(sock.fileno())

    def _resume(self) -> None:
        if self._serving and not self._reading:
            self._reading = True
            for sock in self._sockets:
                self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, listening: socket.socket) -> None:
        table = self.table
        # take what the kernel has queued (bounded, as asyncio does), not just one
        for _ in range(BACKLOG):
            if table.full() and not table.evictable():
                # every connection is busy with a request: the kernel queues the rest
                # until one ends (the table then calls _resume)
                self._pause()
                return
            try:
                client, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _ACCEPT_RESOURCE_ERRORS:
                    log.warning(
                        "cannot accept a connection: %s; retrying in %.0f s",
                        exc,
                        _ACCEPT_RETRY_DELAY,
                        extra={"fields": {"event": "accept_failed", "error": str(exc)}},
                    )
                    self._pause()
                    self._loop.call_later(_ACCEPT_RETRY_DELAY, self._resume)
                    return
                # anything else (ECONNABORTED: the client gave up in the queue) is its loss
                continue
            client.setblocking(False)
            evicting = table.full()
            if evicting and not table.evict_oldest():
                client.close()
                continue
            connection = table.add(self._make_handler)
            connection.handshake = self._loop.create_task(self._handshake(connection, client))
            if evicting:
                # one at a time at the cap: the evicted socket closes before the next
                # accept, so open sockets stay at the cap (give or take one or two)
                return

    async def _handshake(self, connection: ClientConnection, client: socket.socket) -> None:
        table = self.table
        handed_over = False
        try:
            async with asyncio.timeout_at(connection.deadline):
                await self._readable(client)
                # from here on asyncio's transport owns the socket (and closes it)
                handed_over = True
                await self._loop.connect_accepted_socket(
                    lambda: connection,
                    client,
                    ssl=self._context,
                    # ours above decides; asyncio's is a backstop
                    ssl_handshake_timeout=table.limits.header_timeout + 1,
                    ssl_shutdown_timeout=TLS_CLOSE_TIMEOUT,
                )
        except TimeoutError:
            table.closed("tls_handshake_timeout")
            table.remove(connection)
        except asyncio.CancelledError:
            # evicted, or the listener closed; the socket is closed (by asyncio's
            # transport, or below)
            table.remove(connection)
        except OSError as exc:
            # ssl.SSLError, a reset: a client that cannot or will not speak TLS 1.2+
            log.debug(
                "TLS handshake failed: %s",
                exc,
                extra={"fields": {"event": "tls_handshake_failed", "error": str(exc)}},
            )
            table.closed("tls_handshake_failed")
            table.remove(connection)
        finally:
            connection.handshake = None
            if not handed_over:
                client.close()

    async def _readable(self, client: socket.socket) -> None:
        """Wait for the client's first bytes (or its EOF), leaving them in the socket."""
        readable = self._loop.create_future()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        self._loop.add_reader(client.fileno(), ready)
        try:
            await readable
        finally:
            self._loop.remove_reader(client.fileno())


class GuardedSite(web.BaseSite):
    """A TCP site with TLS whose connections the ConnectionTable caps and times out."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext,
        table: ConnectionTable,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=BACKLOG)
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self.table = table
        self._context = ssl_context

    @property
    def name(self) -> str:
        return f"https://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        sockets = await _listen(self._host, self._port, reuse_port=self._reuse_port)
        self._server = GuardedListener(sockets, self.table, server, self._context)


async def _listen(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for every address `host` resolves to.

    With `reuse_port` (the workers of `serve --workers N`), each worker binds its own
    socket to the same port and the kernel spreads new connections over them.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_ADDRCONFIG
    )
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
    try:
        for family, kind, proto, _, address in infos:
            if address in seen:
                continue
            seen.add(address)
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                # one socket per family, as asyncio does
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets
