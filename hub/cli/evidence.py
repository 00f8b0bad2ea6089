"""``lienthong evidence``: the evidence of sending and delivery.

``keygen`` makes a self-signed key and certificate; ``checkpoint`` seals new records into
the chain and signs its head (once, or ``--every`` N seconds until stopped, as ``run``
does); ``export`` writes a packet's or a document's signed receipt; ``verify`` checks a
receipt offline with the hub's certificate alone; ``verify-chain`` walks the chain in the
database and names the first broken record.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import structlog

from hub.bootstrap import load_evidence_signer
from hub.cli import processes
from hub.cli.common import EXIT_FAILURE, EXIT_OK, Groups, count, say
from hub.db.database import Database, open_database
from hub.errors import ConfigurationError, HubError, InvalidRequestError, StorageError
from hub.evidence.checkpoints import seal
from hub.evidence.export import export_receipt, packets_named
from hub.evidence.offline import ReceiptCheck, ReceiptFact, verify_receipt
from hub.evidence.signing import HubSigner, load_certificates, self_signed
from hub.evidence.verification import verify_chain
from hub.settings import Settings

__all__ = ["register"]

_log = structlog.get_logger(__name__)


def register(groups: Groups) -> None:
    """Add this group's commands to the ``lienthong`` parser."""
    evidence = groups.add_parser("evidence", help="evidence of sending and delivery")
    commands = evidence.add_subparsers(title="evidence commands", metavar="COMMAND")

    cmd = commands.add_parser(
        "keygen", help="make an RSA key and a self-signed certificate for evidence"
    )
    cmd.add_argument("--key", type=Path, required=True, help="where to write the key (PEM)")
    cmd.add_argument("--cert", type=Path, required=True, help="where to write the certificate")
    cmd.add_argument("--name", default="lienthong evidence", help="the certificate's CN")
    cmd.add_argument("--days", type=count, default=3650, help="validity of the certificate")
    cmd.add_argument("--force", action="store_true", help="overwrite existing files")
    cmd.set_defaults(command=_keygen)

    cmd = commands.add_parser(
        "checkpoint", help="chain the new evidence records and sign the chain's head"
    )
    cmd.add_argument(
        "--every", type=float, metavar="SECONDS", help="keep doing it, every SECONDS, until stopped"
    )
    cmd.set_defaults(command=_checkpoint)

    cmd = commands.add_parser("export", help="write the signed receipt of a packet or document")
    cmd.add_argument("name", metavar="ID", help="a packet id, or a DocumentId")
    cmd.add_argument("--sender", metavar="CODE", help="the document's sender, if several")
    cmd.add_argument("-o", "--output", type=Path, help="receipt file (default: standard output)")
    cmd.set_defaults(command=_export)

    cmd = commands.add_parser(
        "verify", help="check a receipt offline against the hub's certificate"
    )
    cmd.add_argument("receipt", type=Path, help="the receipt file ('-' for standard input)")
    cmd.add_argument("--cert", type=Path, required=True, help="the hub's certificate (PEM/DER)")
    cmd.set_defaults(command=_verify)

    cmd = commands.add_parser(
        "verify-chain", help="check every evidence record and checkpoint in the database"
    )
    cmd.add_argument(
        "--cert",
        type=Path,
        action="append",
        default=[],
        help="a certificate checkpoints may be signed with (default: LIENTHONG_EVIDENCE_CERT_FILE)",
    )
    cmd.set_defaults(command=_verify_chain)


def _keygen(args: argparse.Namespace, settings: Settings) -> int:
    existing = [str(path) for path in (args.key, args.cert) if path.exists()]
    if existing and not args.force:
        raise ConfigurationError(f"{', '.join(existing)} exists; --force overwrites it")
    key_pem, cert_pem = self_signed(args.name, days=max(args.days, 1))
    try:
        args.key.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key_pem)
        args.cert.parent.mkdir(parents=True, exist_ok=True)
        args.cert.write_bytes(cert_pem)
    except OSError as exc:
        raise HubError(f"cannot write {exc.filename}: {exc.strerror}", code="cli.output") from exc
    say(
        f"wrote {args.key} (keep it secret) and {args.cert} (give it to agencies); set "
        f"LIENTHONG_EVIDENCE_KEY_FILE={args.key} LIENTHONG_EVIDENCE_CERT_FILE={args.cert}"
    )
    return EXIT_OK


def _signer(settings: Settings) -> HubSigner:
    signer = load_evidence_signer(settings)
    if signer is None:
        raise ConfigurationError(
            "no evidence key: set LIENTHONG_EVIDENCE_KEY_FILE and LIENTHONG_EVIDENCE_CERT_FILE "
            "(`lienthong evidence keygen` makes a self-signed pair)"
        )
    return signer


def _checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    signer = _signer(settings)
    if args.every is not None and args.every <= 0:
        raise ConfigurationError("--every needs a positive number of seconds")
    with open_database(settings) as database:
        if args.every is None:
            made = _seal_everything(database, signer, show=True)
            if not made:
                print("nothing to seal: every evidence record is in the chain")
            return EXIT_OK
        stop = processes.stop_on_signals()
        _log.info("evidence.checkpoints_started", every=args.every)
        while True:
            try:
                _seal_everything(database, signer, show=False)
            except StorageError as exc:
                _log.warning("evidence.checkpoint_failed", error=str(exc))
            if stop.wait(args.every):
                break
    _log.info("evidence.checkpoints_stopped")
    return EXIT_OK


def _seal_everything(database: Database, signer: HubSigner, *, show: bool) -> int:
    """Seal every pending record, one checkpoint (and transaction) at a time; each is printed
    (``show``) or logged."""
    made = 0
    while True:
        with database.transaction() as session:
            checkpoint = seal(session, signer)
        if checkpoint is None:
            return made
        made += 1
        if show:
            print(
                f"checkpoint {checkpoint.number}: records {checkpoint.first_seq}-"
                f"{checkpoint.last_seq}, head {checkpoint.head_hash}",
                flush=True,
            )
        else:
            _log.info(
                "evidence.checkpoint",
                number=checkpoint.number,
                first_seq=checkpoint.first_seq,
                last_seq=checkpoint.last_seq,
                head_hash=checkpoint.head_hash,
            )


def _export(args: argparse.Namespace, settings: Settings) -> int:
    signer = _signer(settings)
    with open_database(settings) as database, database.transaction() as session:
        packet_ids = packets_named(session, args.name, args.sender)
        receipt = export_receipt(session, signer, packet_ids, subject=args.name)
    if args.output is None or str(args.output) == "-":
        sys.stdout.buffer.write(receipt)
        sys.stdout.flush()
        return EXIT_OK
    try:
        args.output.write_bytes(receipt)
    except OSError as exc:
        raise HubError(f"cannot write {args.output}: {exc.strerror}", code="cli.output") from exc
    say(f"wrote the receipt of {args.name} ({len(packet_ids)} packet(s)) to {args.output}")
    return EXIT_OK


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    (certificate, *_others) = load_certificates([args.cert])
    try:
        data = sys.stdin.buffer.read() if str(args.receipt) == "-" else args.receipt.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot read {args.receipt}: {exc.strerror}", code="evidence.unreadable"
        ) from exc
    check = verify_receipt(data, certificate)
    _print_receipt(check, certificate.subject.rfc4514_string())
    return EXIT_OK if check.ok else EXIT_FAILURE


def _print_receipt(check: ReceiptCheck, signer_name: str) -> None:
    if check.ok:
        print(f"receipt VALID: signed by {signer_name}, issued {check.issued}")
    else:
        print(f"receipt BROKEN: first broken: {check.first_broken}")
        for problem in check.problems:
            print(f"  {problem}")
    if check.checkpoint is not None:
        print(f"checkpoint {check.checkpoint} of the hub's evidence chain")
    if check.facts and not check.ok:
        print("what the receipt states (not proven):")
    for fact in check.facts:
        print(_fact_line(fact))


def _fact_line(fact: ReceiptFact) -> str:
    fields = fact.fields
    place = f"seq {fact.seq}" if fact.seq is not None else "unsealed"
    if fact.kind == "submitted":
        detail = (
            f"from {fields.get('sender')} (posted by {fields.get('submitted_by')}), "
            f"{fields.get('size')} bytes, sha256 {fields.get('sha256')}"
        )
    else:
        extras = [
            f"{label} {fields[key]}"
            for key, label in (
                ("channel", "by"),
                ("attempt", "attempt"),
                ("http_status", "HTTP"),
                ("peer_ref", "ref"),
                ("error", "error:"),
                ("reason", "reason:"),
                ("actor", "by"),
            )
            if fields.get(key) is not None
        ]
        recipient = f"{fields['recipient']} " if fields.get("recipient") else ""
        detail = recipient + ", ".join(extras)
    return f"  {fact.packet}  {place:>10}  {fact.at}  {fact.kind:<15} {detail}"


def _verify_chain(args: argparse.Namespace, settings: Settings) -> int:
    paths = list(args.cert)
    if not paths and settings.evidence.cert_file is not None:
        paths.append(settings.evidence.cert_file)
    certificates = load_certificates(paths) if paths else []
    with open_database(settings) as database, database.transaction() as session:
        report = verify_chain(session, certificates)
    if report.ok:
        print(
            f"evidence chain intact: {report.sealed} records in {report.checkpoints} signed "
            f"checkpoints, {report.unsealed} waiting for the next; head {report.head_hash}"
        )
        return EXIT_OK
    print(f"evidence chain BROKEN at {report.first_broken}: {report.problem}")
    print(f"{report.sealed} records and {report.checkpoints} checkpoints before it verify")
    return EXIT_FAILURE
