"""The ``lienthong`` command: database, directory, tokens, the API server, replay and audit,
the payload store, evidence of sending and delivery, the national axis (agency sync, receive
loops), and the console's users.

One module per group of commands, each adding its commands with ``register``. Exit codes: 0
success, 1 failure (the message says what to fix), 2 wrong usage. Results go to standard
output, messages and logs to standard error, so output can be piped or redirected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hub.cli import (
    access,
    configuration,
    database,
    directory,
    evidence,
    payloads,
    records,
    services,
    users,
)
from hub.cli.common import EXIT_FAILURE, EXIT_USAGE, Command
from hub.errors import ConfigurationError, HubError
from hub.known_warnings import silence_known_warnings
from hub.logging import configure_logging
from hub.settings import load_settings

__all__ = ["build_parser", "main"]

_GROUPS = (
    database,
    directory,
    access,
    users,
    records,
    payloads,
    evidence,
    services,
    configuration,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lienthong`` command and return its exit code."""
    silence_known_warnings()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: Command | None = getattr(args, "command", None)
    if command is None:
        group: argparse.ArgumentParser = getattr(args, "group_parser", None) or parser
        group.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"lienthong: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    configure_logging(settings.logging.level, settings.logging.format)
    try:
        return command(args, settings)
    except HubError as exc:
        print(f"lienthong: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lienthong",
        description="Administer the lienthong edXML interchange hub.",
        epilog="Configuration comes from LIENTHONG_* environment variables.",
    )
    groups = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in _GROUPS:
        group.register(groups)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand its one-line help as its description (shown by ``--help`` and
    when a group is named without a command), unless it has a longer one."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, child in action.choices.items():
            if child.description is None and helps.get(name):
                summary = str(helps[name])
                child.description = summary[0].upper() + summary[1:] + "."
            child.set_defaults(group_parser=child)
            _describe(child)
