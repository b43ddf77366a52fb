"""Slow clients, as a separate process so that their work never shares a core's time
slice with the client that measures real reviews.

    python -m tests.reliability.slowloris --port P --ca CA [--plain N] [--headers N]
        [--body N] [--idle N] [--interval S] [--hold] [--deadline S]

Kinds of slow connection:
  plain    TCP connected, TLS never started
  headers  TLS done, request headers trickled one byte every --interval seconds
  body     TLS done, headers and 100 bytes of a 100 kB body sent, then nothing
  idle     TLS done, one GET /healthz answered, then nothing (kept alive)

With --hold, a dropped connection is replaced at once (a real attacker's pressure),
until a line arrives on stdin; then nothing is replaced and every connection is
watched until the server drops it. Reports JSON lines on stdout:
  {"event": "established", "open": {kind: n}}   once 9 in 10 of each kind are open
  {"event": "done", "kinds": {kind: {...}}}      every connection's lifetime (first
      byte sent to the server's EOF or reset): count, dropped, min_s, max_s, statuses
The process gives up after --deadline seconds (whatever is still open is reported as
not dropped), so it always stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import sys
import time
from dataclasses import dataclass, field

KINDS = ("plain", "headers", "body", "idle")
#: Connection attempts in flight at once: enough to open thousands in seconds without
#: overflowing the server's accept queue.
OPENING = 64


@dataclass
class Tally:
    """What happened to the connections of one kind."""

    lifetimes: list[float] = field(default_factory=list)
    still_open: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    failed_to_open: int = 0


class Slowloris:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.context = ssl.create_default_context(cafile=args.ca)
        self.tallies = {kind: Tally() for kind in KINDS}
        self.open = dict.fromkeys(KINDS, 0)
        self.hold = args.hold
        self.opening = asyncio.Semaphore(OPENING)

    async def connect(
        self, kind: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float] | None:
        async with self.opening:
            started = time.monotonic()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        "127.0.0.1",
                        self.args.port,
                        ssl=None if kind == "plain" else self.context,
                    ),
                    30,
                )
            except (OSError, TimeoutError):
                self.tallies[kind].failed_to_open += 1
                return None
            return reader, writer, started

    async def one(self, kind: str) -> None:
        """One slow connection of `kind`, replaced when dropped while holding."""
        while True:
            opened = await self.connect(kind)
            if opened is None:
                if not self.hold:
                    return
                await asyncio.sleep(0.1)  # an attacker's pace between attempts, not a wait
                continue
            reader, writer, started = opened
            self.open[kind] += 1
            try:
                status = await self.misbehave(kind, reader, writer)
            finally:
                self.open[kind] -= 1
                writer.transport.abort()
            tally = self.tallies[kind]
            tally.lifetimes.append(time.monotonic() - started)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if not self.hold:
                return

    async def misbehave(
        self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str:
        """Be slow until the server drops the connection; returns the status it sent, if any."""
        if kind == "headers":
            head = (
                b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            )
            trickle = asyncio.create_task(self.trickle(writer, head * 100))
        elif kind == "body":
            writer.write(
                b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n" + b"{" * 100
            )
            trickle = None
        elif kind == "idle":
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            trickle = None
        else:
            trickle = None
        received = b""
        try:
            while chunk := await reader.read(65536):
                received += chunk
        except (OSError, EOFError):
            # an aborted TLS connection ends without close_notify: a reset or an SSL error
            pass
        finally:
            if trickle is not None:
                trickle.cancel()
                await asyncio.gather(trickle, return_exceptions=True)
        statuses = [line.split(b" ")[1].decode() for line in received.split(b"\r\n")
                    if line.startswith(b"HTTP/1.1 ")]  # fmt: skip
        return ",".join(statuses) or "none"

    async def trickle(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        with contextlib.suppress(OSError):
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.args.interval)

    async def run(self) -> None:
        counts = {kind: getattr(self.args, kind) for kind in KINDS}
        tasks = [
            asyncio.create_task(self.one(kind)) for kind, n in counts.items() for _ in range(n)
        ]
        deadline = time.monotonic() + self.args.deadline
        # "established": nine in ten of each kind open at once (with deadlines of a second
        # or two, the last few are opened while the first are being dropped and replaced)
        while any(self.open[k] < 0.9 * n for k, n in counts.items()):
            if time.monotonic() > deadline or (not self.hold and all(t.done() for t in tasks)):
                break
            await asyncio.sleep(0.05)
        report({"event": "established", "open": dict(self.open)})
        if self.hold:
            # hold until told to stop (a line on stdin), then stop replacing connections
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            self.hold = False
        remaining = max(0.0, deadline - time.monotonic())
        _, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        kinds = {}
        for kind, tally in self.tallies.items():
            if not counts[kind]:
                continue
            lifetimes = sorted(tally.lifetimes)
            kinds[kind] = {
                "count": len(lifetimes) + self.open[kind],
                "dropped": len(lifetimes),
                "not_dropped": self.open[kind],
                "failed_to_open": tally.failed_to_open,
                "min_s": round(lifetimes[0], 3) if lifetimes else None,
                "max_s": round(lifetimes[-1], 3) if lifetimes else None,
                "statuses": tally.statuses,
            }
        report({"event": "done", "kinds": kinds})


def report(line: dict[str, object]) -> None:
    print(json.dumps(line), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.slowloris")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=int, default=0, help=f"{kind} connections")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between bytes")
    parser.add_argument("--hold", action="store_true", help="replace dropped connections")
    parser.add_argument("--deadline", type=float, default=60.0, help="give up after this")
    asyncio.run(Slowloris(parser.parse_args(argv)).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
