"""Structured logs: one JSON object per line, fields passed with ``extra={"fields": {...}}``."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError


class JsonLogFormatter(logging.Formatter):
    """Formats a record as ``{"time", "level", "logger", "message", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


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
