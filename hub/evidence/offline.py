"""Verifying a receipt with nothing but the receipt and the hub's certificate.

Four checks, and every problem is placed where it is in the file, so the report names the
first broken record (or the part of the receipt that is not a record):

1. the file is well-formed XML without a document type, an ``EvidenceReceipt``;
2. it is in its canonical form, byte for byte (C14N would let an attribute's quotes or the
   spaces inside a tag change unseen; the hub writes receipts canonical, so any such change
   shows as the first byte that differs);
3. each record's statement hashes to its record hash, its chain hash links its place, the
   previous hash and its record hash, and its attributes say what its statement says; the
   checkpoint likewise, and its own signature holds;
4. the XML signature holds for the certificate given, over the whole document.

No network, no database: an archive can check a receipt years later (the certificate's
validity is judged at the time the receipt was issued).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from hub.evidence.receipt import (
    ReceiptCheckpoint,
    ReceiptRecord,
    canonical_bytes,
    checkpoint_attributes,
    parse_statement,
    q,
    record_attributes,
)
from hub.evidence.signing import signature_holds
from hub.records.chain import link, sha256

__all__ = ["ReceiptCheck", "ReceiptFact", "verify_receipt"]

_DSIG = "http://www.w3.org/2000/09/xmldsig#"
_RECORD_START = re.compile(rb"<Record[\s>]")
_RECORD_END = b"</Record>"


@dataclass(frozen=True)
class ReceiptFact:
    """One fact a receipt vouches for, as its statement says it."""

    seq: int | None
    kind: str
    at: str
    packet: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class ReceiptCheck:
    """The verdict on a receipt."""

    ok: bool
    signature_valid: bool
    """Whether the XML signature holds for the certificate (the content is the hub's)."""
    issued: str | None = None
    subject: str | None = None
    checkpoint: int | None = None
    facts: list[ReceiptFact] = field(default_factory=list)
    first_broken: str | None = None
    """Where the first problem is: a record, the checkpoint, or another part of the receipt."""
    problems: list[str] = field(default_factory=list)
    """Every problem found, in the order of the file."""


@dataclass(frozen=True)
class _Problem:
    offset: int
    where: str
    what: str


def verify_receipt(data: bytes, certificate: x509.Certificate) -> ReceiptCheck:
    """Check ``data`` (a receipt file's bytes) against the hub's ``certificate``."""
    spans = _record_spans(data)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        offset = _offset_of_line(data, line)
        where = _place(spans, offset, None)
        return _verdict([_Problem(offset, where, f"not well-formed XML: {exc.msg}")], False)
    tree = root.getroottree()
    if (
        tree.docinfo.internalDTD is not None
        or tree.docinfo.doctype
        or root.tag != q("EvidenceReceipt")
    ):
        return _verdict([_Problem(0, "the receipt", "not a lienthong evidence receipt")], False)
    records = list(root.iter(q("Record")))
    problems: list[_Problem] = []
    stranger = _other_signer(root, certificate)
    if stranger is not None:
        problems.append(
            _Problem(
                -1,
                "the receipt",
                f"it was signed with the key of {stranger}, not of the certificate given",
            )
        )
    try:
        canonical = canonical_bytes(root)
    except etree.C14NError as exc:
        return _verdict([_Problem(0, "the receipt", f"it cannot be canonicalised: {exc}")], False)
    if canonical != data:
        offset = _first_difference(canonical, data)
        line = data.count(b"\n", 0, offset) + 1
        problems.append(
            _Problem(
                offset,
                _place(spans, offset, records),
                f"the file differs from the form the hub wrote at byte {offset}, line {line}",
            )
        )
    facts: list[ReceiptFact] = []
    for index, element in enumerate(records):
        offset = spans[index][0] if len(spans) == len(records) else 0
        fact, problem = _check_record(element)
        if fact is not None:
            facts.append(fact)
        if problem is not None:
            problems.append(_Problem(offset, _describe(index, element, fact), problem))
    checkpoint_number, checkpoint_problem = _check_checkpoint(root, certificate, facts)
    if checkpoint_problem is not None:
        offset = data.find(b"<Checkpoint")
        problems.append(_Problem(max(offset, 0), "the checkpoint", checkpoint_problem))
    signature_valid, signature_problem = _check_signature(data, root, certificate)
    if signature_problem is not None:
        offset = data.find(b"<ds:Signature")
        problems.append(
            _Problem(len(data) if offset < 0 else offset, "the signature", signature_problem)
        )
    return _verdict(
        problems,
        signature_valid,
        issued=root.get("issued"),
        subject=root.get("subject"),
        checkpoint=checkpoint_number,
        facts=facts,
    )


def _verdict(problems: list[_Problem], signature_valid: bool, **found: Any) -> ReceiptCheck:
    ordered = sorted(problems, key=lambda problem: problem.offset)
    return ReceiptCheck(
        ok=not ordered and signature_valid,
        signature_valid=signature_valid,
        first_broken=ordered[0].where if ordered else None,
        problems=[f"{problem.where}: {problem.what}" for problem in ordered],
        **found,
    )


def _check_record(element: etree._Element) -> tuple[ReceiptFact | None, str | None]:
    statement = element.text or ""
    fields = parse_statement(statement)
    if fields is None:
        return None, "its statement is not a JSON object"
    seq_text = element.get("seq")
    seq = int(seq_text) if seq_text is not None and seq_text.isdigit() else None
    fact = ReceiptFact(
        seq=seq,
        kind=str(fields.get("kind", "")),
        at=str(fields.get("at", "")),
        packet=str(fields.get("packet", "")),
        fields=fields,
    )
    record = ReceiptRecord(
        statement=statement,
        record_hash=sha256(statement),
        seq=seq,
        prev_hash=element.get("prevHash"),
        chain_hash=element.get("chainHash"),
    )
    if element.get("recordHash") != record.record_hash:
        return fact, "its statement does not hash to its record hash"
    if seq_text is not None and seq is None:
        return fact, f"its place in the chain is not a number: {seq_text!r}"
    if (
        seq is not None
        and record.prev_hash is not None
        and record.chain_hash != link(seq, record.prev_hash, record.record_hash)
    ):
        return fact, "its chain hash does not follow from its place and hashes"
    expected = record_attributes(record, fields)
    if {str(k): str(v) for k, v in element.attrib.items()} != expected:
        return fact, "its attributes do not say what its statement says"
    parent = element.getparent()
    if parent is None or parent.get("id") != fact.packet:
        return fact, "it is filed under another packet than its statement names"
    return fact, None


def _check_checkpoint(
    root: etree._Element, certificate: x509.Certificate, facts: list[ReceiptFact]
) -> tuple[int | None, str | None]:
    element = root.find(q("Checkpoint"))
    if element is None:
        return None, None
    statement = element.text or ""
    fields = parse_statement(statement) or {}
    number = fields.get("checkpoint")
    signed = ReceiptCheckpoint(
        statement=statement, hash=sha256(statement), signature=element.get("signature", "")
    )
    if {str(k): str(v) for k, v in element.attrib.items()} != checkpoint_attributes(signed, fields):
        return None, "its attributes do not say what its statement says"
    if not signature_holds(certificate, statement.encode("utf-8"), signed.signature):
        return None, "its signature does not hold for this certificate"
    last_seq = fields.get("last_seq")
    if isinstance(last_seq, int) and any(
        fact.seq is not None and fact.seq > last_seq for fact in facts
    ):
        return None, "it does not cover every record of the receipt"
    return number if isinstance(number, int) else None, None


def _check_signature(
    data: bytes, root: etree._Element, certificate: x509.Certificate
) -> tuple[bool, str | None]:
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    from signxml.exceptions import InvalidSignature, SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    signatures = root.findall(f"{{{_DSIG}}}Signature")
    if len(signatures) != 1 or root[-1] is not signatures[0]:
        return False, "the receipt must end with exactly one signature of the whole document"
    references = signatures[0].findall(f".//{{{_DSIG}}}Reference")
    if [reference.get("URI") for reference in references] != [""]:
        return False, 'the signature must cover the whole document (one reference, URI "")'
    if _embedded_certificate(signatures[0]) != certificate.public_bytes(Encoding.DER):
        return False, "the certificate it carries is not the certificate given"
    config = SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        verification_time=_issued(root),
    )
    try:
        XMLVerifier().verify(data, x509_cert=certificate, expect_config=config)
    except InvalidSignature as exc:
        return False, f"it does not hold for this certificate ({exc})"
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        return False, f"it cannot be checked: {exc}"
    return True, None


def _other_signer(root: etree._Element, certificate: x509.Certificate) -> str | None:
    """The subject of the certificate the receipt carries, when it is a certificate and not
    the one given."""
    signature = root.find(f"{{{_DSIG}}}Signature")
    embedded = _embedded_certificate(signature) if signature is not None else None
    if embedded is None or embedded == certificate.public_bytes(Encoding.DER):
        return None
    try:
        return x509.load_der_x509_certificate(embedded).subject.rfc4514_string()
    except ValueError:
        return None


def _embedded_certificate(signature: etree._Element) -> bytes | None:
    """The DER of the first certificate in the signature's ``KeyInfo`` (not signed itself,
    so it must be the one given)."""
    element = signature.find(f"{{{_DSIG}}}KeyInfo/{{{_DSIG}}}X509Data/{{{_DSIG}}}X509Certificate")
    if element is None or not element.text:
        return None
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except binascii.Error:
        return None


def _issued(root: etree._Element) -> datetime | None:
    try:
        return datetime.fromisoformat(root.get("issued", ""))
    except ValueError:
        return None


def _record_spans(data: bytes) -> list[tuple[int, int]]:
    """Where each ``Record`` element starts and ends in the file."""
    spans = []
    for match in _RECORD_START.finditer(data):
        end = data.find(_RECORD_END, match.start())
        spans.append((match.start(), len(data) if end < 0 else end + len(_RECORD_END)))
    return spans


def _place(spans: list[tuple[int, int]], offset: int, records: list[etree._Element] | None) -> str:
    for index, (start, end) in enumerate(spans):
        if start <= offset < end:
            if records is not None and len(records) == len(spans):
                return _describe(index, records[index], None)
            return f"record {index + 1} of the receipt"
    return "the receipt outside its records"


def _describe(index: int, element: etree._Element, fact: ReceiptFact | None) -> str:
    """A record for people: by its statement when that still hashes to its record hash, by
    its attributes otherwise (whichever was changed, the other tells what it was)."""
    trusted = fact is not None and element.get("recordHash") == sha256(element.text or "")
    kind = fact.kind if fact is not None and trusted else element.get("kind", "?")
    packet = fact.packet if fact is not None and trusted else element.get("packet", "?")
    recipient = element.get("recipient")
    to = f" to {recipient}" if recipient else ""
    seq = element.get("seq")
    place = f", seq {seq}" if seq else ""
    return f"record {index + 1} of the receipt ({kind} of packet {packet}{to}{place})"


def _first_difference(left: bytes, right: bytes) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def _offset_of_line(data: bytes, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        found = data.find(b"\n", offset)
        if found < 0:
            return offset
        offset = found + 1
    return offset
