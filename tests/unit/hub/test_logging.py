"""Logging: JSON lines for machines, readable lines for people, ids bound in context."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hub.logging import configure_logging, reset_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    reset_logging()


def test_json_format_writes_one_object_per_event_with_bound_ids() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)

    with structlog.contextvars.bound_contextvars(packet_id="p-1"):
        structlog.get_logger("hub.test").info("delivery.attempted", recipient="000.00.01.H26")

    record = json.loads(stream.getvalue())
    assert record["event"] == "delivery.attempted"
    assert (record["packet_id"], record["recipient"]) == ("p-1", "000.00.01.H26")
    assert record["level"] == "info"


def test_standard_library_records_use_the_same_format() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)

    logging.getLogger("some.library").warning("connection lost")

    assert json.loads(stream.getvalue())["event"] == "connection lost"


def test_events_below_the_level_are_dropped() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", "json", stream=stream)

    structlog.get_logger("hub.test").info("routine")

    assert stream.getvalue() == ""


def test_auto_format_is_json_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "auto", stream=stream)

    structlog.get_logger("hub.test").info("started")

    assert json.loads(stream.getvalue())["event"] == "started"


def test_console_format_is_not_json() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "console", stream=stream)

    structlog.get_logger("hub.test").info("started", port=8080)

    assert "started" in stream.getvalue()
    assert "port=8080" in stream.getvalue()
