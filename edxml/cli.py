"""The ``edxml`` command: inspect, validate, verify, sign and make edXML packets.

Exit status: 0 success, 1 the packet is invalid (or the signature is not valid, for
``verify``), 2 usage errors (bad options, missing files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from edxml.errors import EdxmlError, PacketError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Raised for a command line that cannot be carried out as given."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _existing(path: str) -> Path:
    candidate = Path(path)
    if candidate.is_dir():
        raise UsageError(f"{path} is a directory, not a file")
    if not candidate.is_file():
        raise UsageError(f"no such file: {path}")
    return candidate


def _issue_text(issue: dict[str, object]) -> str:
    """``[code] element: message``, the element left out when the issue names none."""
    element = issue.get("element")
    where = f"{element}: " if element else ""
    return f"[{issue['code']}] {where}{issue['message']}"


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _load_mapping(path: str) -> dict[str, Any]:
    text = _existing(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold an object of metadata")
    return data


# -- commands -------------------------------------------------------------------------------


def cmd_inspect(args: argparse.Namespace) -> int:
    from edxml.errors import Issue
    from edxml.inspect import inspect, summarise
    from edxml.signature import load_certificates, load_crls

    path = _existing(args.file)
    anchors = load_certificates([Path(p) for p in args.trust]) if args.trust else ()
    crls = load_crls([Path(p) for p in args.crl]) if args.crl else ()
    try:
        result = inspect(path, trust_anchors=anchors, crls=crls)
    except PacketError as exc:
        if args.json:
            _print_json(summarise(None, [Issue.from_error(exc)], None).as_json())
        else:
            print(f"unreadable packet: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(result.as_json())
    else:
        _print_summary(result.as_json())
    return EXIT_OK if result.valid else EXIT_INVALID


def _print_summary(data: dict[str, Any]) -> None:
    rows: list[tuple[str, str]] = [
        ("kind", str(data["kind"])),
        ("document", str(data["document_id"])),
        ("from", str(data["from"])),
        ("to", ", ".join(data["to"]) or "-"),
        ("code", str(data["code"] or "-")),
    ]
    if data["kind"] == "edoc":
        rows.append(("subject", str(data["subject"] or "-")))
        rows.append(("business type", str(data["business_type"])))
    else:
        rows.append(("status", str(data["status_code"])))
    signature = data["signature"]
    if signature:
        trust = {True: "trusted", False: "not trusted", None: "trust not checked"}
        sig = f"{signature['status']} ({trust[signature['trusted']]})"
        if signature["reason"]:
            sig += f": {signature['reason']}"
        rows.append(("signature", sig))
    rows.append(("valid", "yes" if data["valid"] else "no"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for index, att in enumerate(data["attachments"], start=1):
        zipped = ", zip" if att["zipped"] else ""
        print(
            f"attachment {index}: {att['name']} ({att['content_type']}{zipped}) "
            f"{att['size']} bytes sha256 {att['sha256']}"
        )
    for issue in data["issues"]:
        line = f"line {issue['line']}: " if issue["line"] else ""
        print(f"issue: {line}{_issue_text(issue)}")
    for warning in data["warnings"]:
        print(f"warning: {warning}")


def cmd_validate(args: argparse.Namespace) -> int:
    from edxml.inspect import check

    path = _existing(args.file)
    _, issues = check(path)
    if args.json:
        _print_json({"valid": not issues, "issues": [issue.as_dict() for issue in issues]})
    elif issues:
        for issue in issues:
            line = f":{issue.line}" if issue.line else ""
            print(f"{path}{line}: {_issue_text(issue.as_dict())}")
    else:
        print(f"{path}: valid")
    return EXIT_INVALID if issues else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from edxml.signature import load_certificates, load_crls, verify

    path = _existing(args.file)
    anchors = load_certificates([Path(p) for p in args.trust]) if args.trust else ()
    crls = load_crls([Path(p) for p in args.crl]) if args.crl else ()
    try:
        outcome = verify(path, trust_anchors=anchors, crls=crls)
    except PacketError as exc:
        print(f"unreadable packet: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(outcome.model_dump(mode="json"))
    else:
        trust = {True: "trusted", False: "not trusted", None: "trust not checked"}
        print(f"{outcome.status} ({trust[outcome.trusted]})")
        if outcome.reason:
            print(outcome.reason)
    trusted_enough = not anchors or outcome.trusted is True
    return EXIT_OK if outcome.status == "valid" and trusted_enough else EXIT_INVALID


def cmd_sign(args: argparse.Namespace) -> int:
    from edxml.signature import load_key_and_cert, sign

    path = _existing(args.file)
    key, cert = load_key_and_cert(_existing(args.key), _existing(args.cert))
    signed = sign(path.read_bytes(), key, cert, legacy=args.legacy)
    Path(args.output).write_bytes(signed)
    print(f"signed {path} -> {args.output}")
    return EXIT_OK


def _date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    for fmt in ("%Y/%m/%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise UsageError(f"not a date (yyyy/MM/dd): {value}")


def cmd_new(args: argparse.Namespace) -> int:
    from edxml.builder import write
    from edxml.compose import FileToAttach, new_document

    meta = _load_mapping(args.metadata) if args.metadata else {}

    def pick(name: str) -> Any:
        value = getattr(args, name, None)
        return value if value not in (None, []) else meta.get(name)

    sender: str | None = pick("sender") or meta.get("from")
    recipients = pick("to")
    required = {"sender": sender, "to": recipients, "number": pick("number")}
    required.update(notation=pick("notation"), subject=pick("subject"))
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise UsageError("missing metadata: " + ", ".join(missing))
    files = [FileToAttach(_existing(name), zip=bool(args.zip)) for name in (args.attach or [])]
    packet, contents = new_document(
        sender=str(sender),
        recipients=[recipients] if isinstance(recipients, str) else list(recipients),
        number=str(pick("number")),
        notation=str(pick("notation")),
        subject=str(pick("subject")),
        document_id=pick("document_id"),
        date=_date(pick("date")),
        place=pick("place"),
        content=pick("content"),
        due_date=_date(pick("due_date")),
        priority=int(pick("priority") or 0),
        files=files,
    )
    with open(args.output, "wb") as out:
        write(packet, out, contents)
    print(f"wrote {args.output} ({packet.document_id})")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from edxml.builder import build
    from edxml.compose import status_for
    from edxml.models import DocumentPacket
    from edxml.reader import parse

    document = parse(_existing(args.document))
    if not isinstance(document, DocumentPacket):
        raise UsageError(f"{args.document} is a status packet; give the document it answers")
    packet = status_for(
        document,
        args.code,
        reporter=args.sender,
        description=args.description,
    )
    Path(args.output).write_bytes(build(packet))
    print(f"wrote {args.output} (status {args.code} for {document.document_id})")
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``edxml`` command."""
    parser = _Parser(prog="edxml", description="Read, check, build and sign edXML packets.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("inspect", help="summarise a packet")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trust", action="append", metavar="CERT", help="trust anchor (PEM/DER)")
    p.add_argument("--crl", action="append", metavar="CRL", help="revocation list (PEM/DER)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("validate", help="check a packet against the rules and the schema")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("verify", help="verify the packet's XML signature")
    p.add_argument("file")
    p.add_argument("--trust", action="append", metavar="CERT", help="trust anchor (PEM/DER)")
    p.add_argument("--crl", action="append", metavar="CRL", help="revocation list (PEM/DER)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("sign", help="sign a packet (RSA-SHA256, standard namespace)")
    p.add_argument("file")
    p.add_argument("--key", required=True, help="private key (PEM)")
    p.add_argument("--cert", required=True, help="certificate (PEM)")
    p.add_argument("--legacy", action="store_true", help="the samples' unprefixed layout")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("new", help="build a document packet")
    p.add_argument(
        "--metadata",
        help="JSON or YAML file with the fields below (from/sender, to, number, notation, …)",
    )
    p.add_argument("--from", dest="sender", help="sender agency code")
    p.add_argument("--to", action="append", help="recipient agency code (repeat)")
    p.add_argument("--number", help="document number (số)")
    p.add_argument("--notation", help="notation (ký hiệu), e.g. UBND-VP")
    p.add_argument("--subject", help="abstract (trích yếu)")
    p.add_argument("--document-id", dest="document_id")
    p.add_argument("--date", help="promulgation date yyyy/MM/dd (default today)")
    p.add_argument("--place")
    p.add_argument("--content")
    p.add_argument("--due-date", dest="due_date")
    p.add_argument("--priority", type=int, choices=range(5))
    p.add_argument("--attach", action="append", metavar="FILE")
    p.add_argument("--zip", action="store_true", help="zip each attachment first")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("status", help="build a status packet answering a document")
    p.add_argument("document", help="the document packet being answered")
    p.add_argument("--code", required=True, help="two-digit status code (01…16)")
    p.add_argument("--from", dest="sender", help="reporting agency (default: first recipient)")
    p.add_argument("--description")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except UsageError as exc:
        print(f"edxml: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"edxml: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EdxmlError as exc:
        print(f"edxml: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return result


if __name__ == "__main__":
    raise SystemExit(main())
