"""Structured logging for the whole process, configured once by the composition root.

Events are key-value pairs with ids bound in context (``structlog.contextvars``); they render
as one JSON object per line in production and as readable lines on a terminal. The hub's own
events are rendered by structlog and written straight to the stream (a line per packet and per
attempt: the standard library's records, handlers and formatter cost more than the rendering);
standard library loggers (Alembic, SQLAlchemy, pika) are routed through the same renderer.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Literal, TextIO

import structlog
from structlog.typing import Processor

__all__ = ["configure_logging", "reset_logging"]

LogFormat = Literal["auto", "json", "console"]

_CHATTY_LIBRARIES = ("alembic",)
"""Libraries whose INFO records are routine chatter, shown only at DEBUG."""
_SELF_REPORTED_LIBRARIES = ("pika",)
"""Libraries whose failures the hub reports itself (one warning per reconnection attempt):
their own records, tracebacks included, are shown only at DEBUG."""

_HANDLER_NAME = "lienthong"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes each record to the ``sys.stderr`` of the moment, even if it was replaced."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _LineWriter:
    """A structlog logger writing each rendered event as one line to a stream: the given one,
    or the ``sys.stderr`` of the moment (tests replace it)."""

    _lock = threading.Lock()
    """One for every writer: lines from threads never interleave."""

    def __init__(self, name: str, stream: TextIO | None) -> None:
        self.name = name
        self._stream = stream

    def msg(self, message: str) -> None:
        out = self._stream if self._stream is not None else sys.stderr
        with self._lock:
            out.write(message + "\n")
            out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Send structlog and standard-library logs to ``stream`` (stderr) at ``level``.

    ``auto`` renders for people when the stream is a terminal and JSON otherwise.
    """
    output = stream if stream is not None else sys.stderr
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    use_console = log_format == "console" or (log_format == "auto" and output.isatty())

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    if use_console:
        renderer = structlog.dev.ConsoleRenderer(colors=output.isatty())
    else:
        shared.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)

    def line_writer(name: str = "", *_: object) -> _LineWriter:
        return _LineWriter(name, stream)

    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=line_writer,
        cache_logger_on_first_use=True,
    )

    handler: logging.StreamHandler[TextIO] = (
        _StderrHandler() if stream is None else logging.StreamHandler(stream)
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    _remove_own_handlers(root)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    quiet = logging.DEBUG if numeric_level <= logging.DEBUG else logging.WARNING
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    for name in _SELF_REPORTED_LIBRARIES:
        logging.getLogger(name).setLevel(
            logging.DEBUG if numeric_level <= logging.DEBUG else logging.CRITICAL
        )


def reset_logging() -> None:
    """Undo :func:`configure_logging`: remove its handler and restore structlog's defaults."""
    _remove_own_handlers(logging.getLogger())
    structlog.reset_defaults()


def _remove_own_handlers(root: logging.Logger) -> None:
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
