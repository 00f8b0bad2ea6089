"""What every ``lienthong`` command shares: exit codes, argument types, output helpers."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.settings import Settings

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Groups",
    "cli_actor",
    "count",
    "level",
    "moment",
    "say",
    "when",
    "write",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

Command = Callable[[argparse.Namespace, "Settings"], int]
"""A command: its parsed arguments and the settings → its exit code."""
Groups: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``lienthong`` parser's subcommands, to which each group adds its own."""


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {value}")
    return value


def level(text: str) -> int:
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError("levels start at 1")
    return value


def moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


def write(text: str, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HubError(f"cannot write {output}: {exc.strerror}", code="cli.output") from exc


def say(message: str) -> None:
    print(message, file=sys.stderr)
