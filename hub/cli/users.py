"""Users of the monitoring console: ``lienthong user add|list|disable|enable|password|role``."""

from __future__ import annotations

import argparse
import getpass
import sys

from hub.auth.roles import ConsoleRole
from hub.cli.common import (
    EXIT_OK,
    Groups,
    cli_actor,
    say,
    when,
)
from hub.errors import ConfigurationError
from hub.settings import Settings

__all__ = ["register"]


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    user = groups.add_parser("user", help="users of the monitoring console (/console/)")
    user_commands = user.add_subparsers(title="user commands", metavar="COMMAND")
    roles = [role.value for role in ConsoleRole]  # hub.auth.roles: light to import
    cmd = user_commands.add_parser("add", help="create a console user")
    cmd.add_argument("name")
    cmd.add_argument("--role", choices=roles, required=True)
    cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cmd.set_defaults(command=_user_add)
    cmd = user_commands.add_parser("list", help="list console users")
    cmd.set_defaults(command=_user_list)
    cmd = user_commands.add_parser("disable", help="disable a user (ends the user's sessions)")
    cmd.add_argument("name")
    cmd.set_defaults(command=_user_disable)
    cmd = user_commands.add_parser("enable", help="enable a disabled user")
    cmd.add_argument("name")
    cmd.set_defaults(command=_user_enable)
    cmd = user_commands.add_parser("password", help="set a user's password")
    cmd.add_argument("name")
    cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cmd.set_defaults(command=_user_password)
    cmd = user_commands.add_parser("role", help="change a user's role")
    cmd.add_argument("name")
    cmd.add_argument("role", choices=roles)
    cmd.set_defaults(command=_user_role)


def _read_password(args: argparse.Namespace) -> str:
    """The new password: standard input's first line, or asked twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "no terminal to ask the password on: pipe it with --password-stdin"
        )
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ConfigurationError("the two passwords differ; nothing was changed")
    return first


def _user_add(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import add_user
    from hub.db.database import open_database

    password = _read_password(args)
    with open_database(settings) as database, database.transaction() as session:
        info = add_user(session, args.name, args.role, password, actor=cli_actor())
    say(f"console user {info.name} added with role {info.role.value}")
    return EXIT_OK


def _user_list(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import list_users
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        users = list_users(session)
    if not users:
        say("no console users: add one with `lienthong user add NAME --role admin`")
    for info in users:
        state = "active" if info.active else "disabled"
        print(f"{info.name}\t{info.role.value}\t{state}\t{when(info.last_login_at)}")
    return EXIT_OK


def _user_disable(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import set_active
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        info = set_active(session, args.name, False, actor=cli_actor())
    say(f"console user {info.name} disabled; their sessions ended")
    return EXIT_OK


def _user_enable(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import set_active
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        info = set_active(session, args.name, True, actor=cli_actor())
    say(f"console user {info.name} enabled")
    return EXIT_OK


def _user_password(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import set_password
    from hub.db.database import open_database

    password = _read_password(args)
    with open_database(settings) as database, database.transaction() as session:
        info = set_password(session, args.name, password, actor=cli_actor())
    say(f"password of console user {info.name} changed; their sessions ended")
    return EXIT_OK


def _user_role(args: argparse.Namespace, settings: Settings) -> int:
    from hub.console.users import set_role
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        info = set_role(session, args.name, args.role, actor=cli_actor())
    say(f"console user {info.name} now has role {info.role.value}")
    return EXIT_OK
