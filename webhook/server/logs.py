"""Structured logs: one JSON object per line, fields passed with ``extra={"fields": {...}}``."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from typing import IO, Any

import orjson
from aiohttp.http_exceptions import HttpProcessingError


def _dumps(line: dict[str, Any]) -> str:
    try:
        return orjson.dumps(line, default=str).decode()
    except TypeError:
        # orjson refuses what json accepts with default=str (an integer beyond 64 bits)
        return json.dumps(line, default=str)


class _Clock:
    """ISO 8601 UTC timestamps with milliseconds, the date and time formatted once a second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, at: float) -> str:
        second = int(at)
        if second != self._second:
            self._second = second
            self._prefix = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((at - second) * 1000):03d}+00:00"


_CLOCK = _Clock()


class JsonLogFormatter(logging.Formatter):
    """Formats a record as ``{"time", "level", "logger", "message", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _CLOCK.iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return _dumps(line)


class DecisionLog:
    """The one log line per review, written without the `logging` machinery when it can be.

    A LogRecord, its handler lock and the formatter cost more than the line itself on the
    request path. When the only handler is the JSON one configure_logging installed, the
    line (the same fields the formatter writes) goes straight to its stream; when anything
    else listens (a test's caplog, another handler), it goes through `logging` as before.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._handler: logging.StreamHandler[IO[str]] | None = None

    def direct_to(self, handler: logging.StreamHandler[IO[str]] | None) -> None:
        self._handler = handler

    def info(self, message: str, fields: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        handler = self._handler
        if handler is None or logging.root.handlers != [handler] or logger.handlers:
            logger.info("%s", message, extra={"fields": fields})
            return
        line = {"time": _CLOCK.iso(time.time()), "level": "INFO", "logger": logger.name,
                "message": message}  # fmt: skip
        line.update(fields)
        stream = handler.stream
        stream.write(_dumps(line) + "\n")
        stream.flush()


#: The decision log of /validate.
DECISIONS = DecisionLog(logging.getLogger("webhook.decision"))


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    DECISIONS.direct_to(handler)


class MalformedHttpIsAClientEvent(logging.Filter):
    """aiohttp logs a request it cannot parse as an error, with a traceback: the bug channel.

    Malformed HTTP (a broken chunked body, a bad header) is what a client sent, not a
    bug of ours: the record is turned into one INFO line, event "bad_http_request".
    aiohttp answers such a request 400 by itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        if not logging.getLogger("webhook.server").isEnabledFor(logging.INFO):
            return False
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text = None, None
        record.msg, record.args = "malformed HTTP request from %s: %s", (remote, exc.message)
        record.fields = {
            "event": "bad_http_request",
            "remote": remote,
            "status": exc.code,
            "error": exc.message,
        }
        return True


def quiet_malformed_http() -> None:
    """Install MalformedHttpIsAClientEvent on aiohttp's server logger (once)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHttpIsAClientEvent) for f in logger.filters):
        logger.addFilter(MalformedHttpIsAClientEvent())
