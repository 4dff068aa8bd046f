"""Logging shared by the gateway and the bridge: text or JSON lines, and the request id.

**Request id.**  Every HTTP request has an id: the client's ``X-Request-Id`` when it is
valid (:func:`valid_request_id`: 1-64 printable ASCII characters, no spaces), else a new
one (:func:`new_request_id`).  The gateway returns it in the response's ``X-Request-Id``
and sends it to the engine in the NATS header :data:`REQUEST_ID_HEADER`; the bridge serves
the request with it set.  While it is set in :data:`request_id` (a context variable, so it
follows one request through its tasks), every log line carries it.

**Lines.**  :func:`configure_logging` sends every logger's records to stderr, as text
(``TIME LEVEL LOGGER: MESSAGE [request_id=ID]``) or as one JSON object per line::

    {"time": "2025-01-02T03:04:05.678Z", "level": "INFO", "logger": "gateway.access",
     "message": "GET /order 200 2.1 ms", "request_id": "9f1c...", "status": 200, ...}

with ``time`` (UTC), ``level``, ``logger``, ``message``, ``request_id`` (when set), every
``extra={...}`` field of the call, and ``exc_info`` (the traceback) for exceptions.  Records
are formatted and written by a background thread, so logging never blocks the event loop;
its queue is bounded (:data:`QUEUE_LIMIT`): when stderr cannot keep up, records are
dropped and counted rather than queued without bound.
"""

from __future__ import annotations

import argparse
import copy
import logging
import logging.handlers
import queue
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from schemas.config import add_option

REQUEST_ID_HEADER = "Wt-Request-Id"
"""NATS header of a request (and its reply) holding the request id."""
HTTP_REQUEST_ID_HEADER = "X-Request-Id"
"""HTTP header: the client's request id (optional), and the one used, in every response."""
MAX_REQUEST_ID = 64
_REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_REQUEST_ID)  # noqa: UP031 - regex braces

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
QUEUE_LIMIT = 10_000
"""Most records waiting to be written; more are dropped (and counted)."""
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

request_id: ContextVar[str | None] = ContextVar("webtrader_request_id", default=None)
"""The id of the request being served in this context (None outside a request)."""

# Attributes every LogRecord has: anything else on a record came from ``extra={...}``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured duplicate of the message
    "taskName",
}


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it can be a request id (1-64 printable ASCII, no spaces), else None."""
    if value is not None and _REQUEST_ID_RE.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """A fresh random request id (32 hex digits)."""
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return msgspec.json.encode(line, enc_hook=str).decode()


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE``, then `` [request_id=ID]`` when one is set."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as text."""
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        if not rid:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [request_id={rid}]{newline}{rest}"


class _Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread; renders what must be rendered in this thread."""

    def __init__(self, records: queue.Queue[Any]) -> None:
        super().__init__(records)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy with its message merged, traceback rendered and request id captured."""
        record = copy.copy(record)
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue ``record``, or drop and count it when the queue is full."""
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class _Writer(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        self.queue.put(self._sentinel)  # type: ignore[attr-defined] # waits: the writer drains


@contextmanager
def configure_logging(
    level: str = "INFO", fmt: str = "text", stream: TextIO | None = None
) -> Iterator[_Enqueue]:
    """Send every logger's records to ``stream`` (stderr) as ``fmt`` lines, at ``level``.

    On exit every queued record is written and the previous handlers are restored.  Yields
    the handler (its ``dropped`` counts records lost to a full queue).

    Raises:
        ValueError: an unknown level or format.
    """
    if fmt not in LOG_FORMATS or level.upper() not in LOG_LEVELS:
        raise ValueError(f"log format one of {LOG_FORMATS}, level one of {LOG_LEVELS}")
    output = logging.StreamHandler(sys.stderr if stream is None else stream)
    output.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    records: queue.Queue[Any] = queue.Queue(QUEUE_LIMIT)
    handler = _Enqueue(records)
    writer = _Writer(records, output)
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    for old in saved[1]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    writer.start()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        writer.stop()
        output.flush()
        root.setLevel(saved[0])
        for old in saved[1]:
            root.addHandler(old)


def add_log_options(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> None:
    """``--log-level`` and ``--log-format`` (``WEBTRADER_LOG_LEVEL``/``_FORMAT``)."""
    add_option(
        parser,
        "--log-level",
        help=f"stderr log level ({', '.join(LOG_LEVELS)})",
        default="INFO",
        env=env,
    )
    add_option(
        parser,
        "--log-format",
        help="stderr log lines: 'text', or 'json' (one object per line)",
        default="text",
        env=env,
    )


def check_log_options(level: str, fmt: str) -> str | None:
    """What is wrong with a log level and format (None: both valid)."""
    if level.upper() not in LOG_LEVELS:
        return f"--log-level: one of {', '.join(LOG_LEVELS)}"
    if fmt not in LOG_FORMATS:
        return f"--log-format: one of {', '.join(LOG_FORMATS)}"
    return None
