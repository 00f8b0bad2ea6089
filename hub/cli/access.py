"""Agencies and operators, and their credentials: ``lienthong agency ...`` (API tokens, and
the system id and secrets of the VXP endpoint) and ``lienthong operator ...``."""

from __future__ import annotations

import argparse

import structlog

from hub.cli.common import (
    EXIT_OK,
    Groups,
    cli_actor,
    say,
    when,
)
from hub.settings import Settings

__all__ = ["register"]

_log = structlog.get_logger("hub.cli")


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    agency = groups.add_parser("agency", help="agencies and their API tokens")
    agency_commands = agency.add_subparsers(title="agency commands", metavar="COMMAND")
    cmd = agency_commands.add_parser("show", help="an agency and its children")
    cmd.add_argument("code")
    cmd.set_defaults(command=_agency_show)
    cmd = agency_commands.add_parser("token", help="issue an API token (shown once)")
    cmd.add_argument("code")
    cmd.add_argument("--label", default="", help="what the token is for, e.g. 'iOffice prod'")
    cmd.set_defaults(command=_agency_token)
    cmd = agency_commands.add_parser("tokens", help="list an agency's tokens")
    cmd.add_argument("code")
    cmd.set_defaults(command=_agency_tokens)
    cmd = agency_commands.add_parser("revoke-token", help="revoke one token of an agency")
    cmd.add_argument("code")
    cmd.add_argument("token_id", type=int, help="the id shown by `lienthong agency tokens`")
    cmd.set_defaults(command=_agency_revoke_token)
    cmd = agency_commands.add_parser(
        "vxp-secret",
        help="issue a secret of the agency's VXP system (shown once, with the system id)",
    )
    cmd.add_argument("code")
    cmd.add_argument(
        "--system-id", help="the system id, on the first secret only (default: the agency code)"
    )
    cmd.add_argument("--label", default="", help="what the secret is for, e.g. 'iOffice prod'")
    cmd.set_defaults(command=_agency_vxp_secret)
    cmd = agency_commands.add_parser("vxp-secrets", help="the agency's VXP system and secrets")
    cmd.add_argument("code")
    cmd.set_defaults(command=_agency_vxp_secrets)
    cmd = agency_commands.add_parser("vxp-revoke", help="revoke one VXP secret of an agency")
    cmd.add_argument("code")
    cmd.add_argument("secret_id", type=int, help="the id shown by `lienthong agency vxp-secrets`")
    cmd.set_defaults(command=_agency_vxp_revoke)
    cmd = agency_commands.add_parser(
        "vxp-key", help="print a new key for LIENTHONG_VXP_KEYS (changes nothing)"
    )
    cmd.set_defaults(command=_agency_vxp_key)
    cmd = agency_commands.add_parser(
        "vxp-rekey", help="encrypt every VXP secret again under the first LIENTHONG_VXP_KEYS key"
    )
    cmd.set_defaults(command=_agency_vxp_rekey)

    operator = groups.add_parser("operator", help="operators and their API tokens")
    operator_commands = operator.add_subparsers(title="operator commands", metavar="COMMAND")
    cmd = operator_commands.add_parser("token", help="issue an operator API token (shown once)")
    cmd.add_argument("name", help="the operator's name, recorded in the audit log")
    cmd.add_argument("--label", default="", help="what the token is for")
    cmd.set_defaults(command=_operator_token)
    cmd = operator_commands.add_parser("tokens", help="list operator tokens")
    cmd.add_argument("name", nargs="?", help="only this operator's tokens")
    cmd.set_defaults(command=_operator_tokens)
    cmd = operator_commands.add_parser("revoke-token", help="revoke an operator token")
    cmd.add_argument("token_id", type=int, help="the id shown by `lienthong operator tokens`")
    cmd.set_defaults(command=_operator_revoke_token)


def _agency_show(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.directory import children, get_agency

    with open_database(settings) as database, database.transaction() as session:
        agency = get_agency(session, args.code)
        below = children(session, args.code)
    flags = [
        flag
        for flag, present in (
            ("inactive", not agency.active),
            ("illustrative", agency.illustrative),
        )
        if present
    ]
    print(f"{agency.code}  {agency.name}" + (f"  [{', '.join(flags)}]" if flags else ""))
    print(f"  level    {agency.level} ({agency.level_name})")
    print(f"  parent   {agency.parent_code or '-'}")
    print(f"  channel  {agency.channel.value} {dict(agency.channel_settings) or ''}".rstrip())
    print(f"  children {len(below)}")
    for child in below:
        print(f"    {child.code}  {child.name}")
    return EXIT_OK


def _agency_token(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.tokens import issue_token
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        issued = issue_token(session, args.code, args.label)
    print(issued.token)
    say(f"token {issued.id} issued to {issued.owner}; it is shown only once, store it now")
    _log.info("token.issued", agency=issued.owner, token_id=issued.id)
    return EXIT_OK


def _agency_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.tokens import list_tokens
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        tokens = list_tokens(session, args.code)
    if not tokens:
        say(f"{args.code} has no tokens: issue one with `lienthong agency token {args.code}`")
    for token in tokens:
        state = "active" if token.active else f"revoked {when(token.revoked_at)}"
        used = when(token.last_used_at) if token.last_used_at else "never used"
        print(f"{token.id}\t{token.prefix}…\t{state}\t{used}\t{token.label}")
    return EXIT_OK


def _agency_revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.tokens import revoke_token
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        token = revoke_token(session, args.code, args.token_id)
    say(f"token {token.id} of {token.owner} revoked at {when(token.revoked_at)}")
    _log.info("token.revoked", agency=token.owner, token_id=token.id)
    return EXIT_OK


def _vxp_endpoint(settings: Settings) -> str:
    api = settings.api
    return f"{api.scheme}://{api.host}:{api.port}/vxp"


def _agency_vxp_secret(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.records import audit
    from hub.vxp.secrets import SecretBox, issue_secret

    box = SecretBox(settings.vxp.key_list)
    with open_database(settings) as database, database.transaction() as session:
        issued = issue_secret(session, box, args.code, system_id=args.system_id, label=args.label)
        audit.append(
            session,
            actor=cli_actor(),
            action="vxp.secret-issued",
            subject=f"agency:{issued.agency_code}",
            details={"system_id": issued.system_id, "secret_id": issued.id, "label": args.label},
        )
    print(f"{issued.system_id}\t{issued.secret}")
    say(
        f"VXP secret {issued.id} issued to system {issued.system_id!r} of {issued.agency_code}; "
        "it is shown only once, store it now. The agency's SDK is configured with the "
        f"endpoint <the hub's URL>/vxp (here {_vxp_endpoint(settings)}), system id "
        f"{issued.system_id!r} and this secret; its other secrets stay valid until revoked."
    )
    _log.info("vxp.secret_issued", agency=issued.agency_code, secret_id=issued.id)
    return EXIT_OK


def _agency_vxp_secrets(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.vxp.secrets import list_secrets

    with open_database(settings) as database, database.transaction() as session:
        system_id, secrets = list_secrets(session, args.code)
    if system_id is None:
        say(f"{args.code} has no VXP system: `lienthong agency vxp-secret {args.code}` makes one")
        return EXIT_OK
    say(f"system id {system_id!r}")
    for secret in secrets:
        state = "active" if secret.active else f"revoked {when(secret.revoked_at)}"
        used = when(secret.last_used_at) if secret.last_used_at else "never used"
        print(f"{secret.id}\t{secret.prefix}…\t{state}\t{used}\t{secret.label}")
    return EXIT_OK


def _agency_vxp_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.records import audit
    from hub.vxp.secrets import revoke_secret

    with open_database(settings) as database, database.transaction() as session:
        secret = revoke_secret(session, args.code, args.secret_id)
        audit.append(
            session,
            actor=cli_actor(),
            action="vxp.secret-revoked",
            subject=f"agency:{args.code}",
            details={"system_id": secret.system_id, "secret_id": secret.id},
        )
    revoked = when(secret.revoked_at)
    say(f"VXP secret {secret.id} of system {secret.system_id!r} revoked at {revoked}")
    _log.info("vxp.secret_revoked", agency=args.code, secret_id=secret.id)
    return EXIT_OK


def _agency_vxp_key(args: argparse.Namespace, settings: Settings) -> int:
    from hub.vxp.secrets import new_key

    print(new_key())
    say(
        "a new key: put it first in LIENTHONG_VXP_KEYS (keep the old ones after it), then run "
        "`lienthong agency vxp-rekey` before removing an old one"
    )
    return EXIT_OK


def _agency_vxp_rekey(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db.database import open_database
    from hub.records import audit
    from hub.vxp.secrets import SecretBox, rekey

    box = SecretBox(settings.vxp.key_list)
    with open_database(settings) as database, database.transaction() as session:
        count = rekey(session, box)
        audit.append(
            session,
            actor=cli_actor(),
            action="vxp.secrets-rekeyed",
            subject="vxp",
            details={"secrets": count},
        )
    say(f"{count} VXP secrets encrypted again under the first key of LIENTHONG_VXP_KEYS")
    return EXIT_OK


def _operator_token(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.callers import issue_operator_token
    from hub.db.database import open_database
    from hub.records import audit

    with open_database(settings) as database, database.transaction() as session:
        issued = issue_operator_token(session, args.name, args.label)
        audit.append(
            session,
            actor=cli_actor(),
            action="operator.token-issued",
            subject=f"operator:{issued.owner}",
            details={"token_id": issued.id, "label": issued.label},
        )
    print(issued.token)
    say(f"operator token {issued.id} issued to {issued.owner}; it is shown only once")
    _log.info("operator_token.issued", operator=issued.owner, token_id=issued.id)
    return EXIT_OK


def _operator_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.callers import list_operator_tokens
    from hub.db.database import open_database

    with open_database(settings) as database, database.transaction() as session:
        tokens = list_operator_tokens(session, args.name)
    if not tokens:
        say("no operator tokens: issue one with `lienthong operator token NAME`")
    for token in tokens:
        state = "active" if token.active else f"revoked {when(token.revoked_at)}"
        used = when(token.last_used_at) if token.last_used_at else "never used"
        print(f"{token.id}\t{token.owner}\t{token.prefix}…\t{state}\t{used}\t{token.label}")
    return EXIT_OK


def _operator_revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from hub.auth.callers import revoke_operator_token
    from hub.db.database import open_database
    from hub.records import audit

    with open_database(settings) as database, database.transaction() as session:
        token = revoke_operator_token(session, args.token_id)
        audit.append(
            session,
            actor=cli_actor(),
            action="operator.token-revoked",
            subject=f"operator:{token.owner}",
            details={"token_id": token.id},
        )
    say(f"operator token {token.id} of {token.owner} revoked at {when(token.revoked_at)}")
    return EXIT_OK
