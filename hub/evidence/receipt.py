"""The receipt an agency files: a document's evidence records, signed with the hub's key.

One XML file, signed with an enveloped XML signature (RSA-SHA256, exclusive C14N, the hub's
certificate in ``KeyInfo``) and written in its canonical form, so that every byte of the
file is either covered by the signature or fixed by canonicalisation: a verifier that
canonicalises it again and checks the signature notices any byte changed
(:mod:`hub.evidence.offline`)::

    <EvidenceReceipt xmlns="urn:lienthong:evidence:1" version="1" issued="…" subject="…">
      <Packet id="…">
        <Record seq="…" kind="submitted" at="…" sha256="…" sender="…" …
                recordHash="…" prevHash="…" chainHash="…">{the statement, JSON}</Record>
        …
      </Packet>
      <Checkpoint number="…" lastSeq="…" headHash="…" at="…" hash="…" signature="…">{its
        statement, JSON}</Checkpoint>
      <ds:Signature>…</ds:Signature>
    </EvidenceReceipt>

Each record's text is its statement exactly as the chain hashed it, and its attributes
repeat some of the statement's fields for people and tools (a verifier checks they agree).
The checkpoint is the newest when the receipt was made, with its own signature: a receipt
kept by an agency is also a witness of the chain's head at that time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from hub.evidence.signing import HubSigner

__all__ = [
    "CHECKPOINT_ATTRIBUTES",
    "NAMESPACE",
    "RECORD_ATTRIBUTES",
    "VERSION",
    "ReceiptCheckpoint",
    "ReceiptRecord",
    "canonical_bytes",
    "checkpoint_attributes",
    "issued_text",
    "parse_statement",
    "q",
    "record_attributes",
    "render",
    "sign_receipt",
]

NAMESPACE = "urn:lienthong:evidence:1"
VERSION = "1"
RECORD_ATTRIBUTES = (
    ("kind", "kind"),
    ("at", "at"),
    ("packet", "packet"),
    ("delivery", "delivery"),
    ("recipient", "recipient"),
    ("channel", "channel"),
    ("sender", "sender"),
    ("document", "document"),
    ("sha256", "sha256"),
)
"""Statement fields a record repeats as attributes: (field, attribute)."""
CHECKPOINT_ATTRIBUTES = (
    ("checkpoint", "number"),
    ("at", "at"),
    ("last_seq", "lastSeq"),
    ("head_hash", "headHash"),
)
"""Checkpoint statement fields repeated as attributes: (field, attribute)."""


def q(name: str) -> str:
    """The qualified name of an element of receipts."""
    return f"{{{NAMESPACE}}}{name}"


@dataclass(frozen=True)
class ReceiptRecord:
    """An evidence record as a receipt carries it."""

    statement: str
    record_hash: str
    seq: int | None
    prev_hash: str | None
    chain_hash: str | None


@dataclass(frozen=True)
class ReceiptCheckpoint:
    """A signed checkpoint as a receipt carries it."""

    statement: str
    hash: str
    signature: str


def record_attributes(record: ReceiptRecord, fields: Mapping[str, Any]) -> dict[str, str]:
    """The attributes of a record's element: its place and hashes, some statement fields."""
    attributes: dict[str, str] = {}
    if record.seq is not None:
        attributes["seq"] = str(record.seq)
    for field, attribute in RECORD_ATTRIBUTES:
        if fields.get(field) is not None:
            attributes[attribute] = str(fields[field])
    attributes["recordHash"] = record.record_hash
    if record.prev_hash is not None:
        attributes["prevHash"] = record.prev_hash
    if record.chain_hash is not None:
        attributes["chainHash"] = record.chain_hash
    return attributes


def checkpoint_attributes(
    checkpoint: ReceiptCheckpoint, fields: Mapping[str, Any]
) -> dict[str, str]:
    """The attributes of the checkpoint's element."""
    attributes = {
        attribute: str(fields[field])
        for field, attribute in CHECKPOINT_ATTRIBUTES
        if fields.get(field) is not None
    }
    attributes["hash"] = checkpoint.hash
    attributes["signature"] = checkpoint.signature
    return attributes


def render(
    *,
    issued: str,
    subject: str,
    packets: Sequence[tuple[str, Sequence[tuple[ReceiptRecord, Mapping[str, Any]]]]],
    checkpoint: tuple[ReceiptCheckpoint, Mapping[str, Any]] | None,
) -> etree._Element:
    """The unsigned receipt: per packet id, its records with their parsed statements."""
    namespaces: dict[str | None, str] = {None: NAMESPACE}
    root = etree.Element(
        q("EvidenceReceipt"),
        {"version": VERSION, "issued": issued, "subject": subject},
        nsmap=namespaces,  # type: ignore[arg-type]  # the stubs forbid the default namespace
    )
    root.text = "\n  "
    last: etree._Element | None = None
    for packet_id, records in packets:
        element = etree.SubElement(root, q("Packet"), {"id": packet_id})
        element.text = "\n    "
        child: etree._Element | None = None
        for record, fields in records:
            child = etree.SubElement(element, q("Record"), record_attributes(record, fields))
            child.text = record.statement
            child.tail = "\n    "
        if child is not None:
            child.tail = "\n  "
        element.tail = "\n  "
        last = element
    if checkpoint is not None:
        signed, fields = checkpoint
        last = etree.SubElement(root, q("Checkpoint"), checkpoint_attributes(signed, fields))
        last.text = signed.statement
    if last is not None:
        last.tail = "\n"
    return root


def sign_receipt(root: etree._Element, signer: HubSigner) -> bytes:
    """The receipt signed and written in its canonical form (see the module)."""
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    signed = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    ).sign(root, key=signer.key, cert=[signer.certificate])
    return canonical_bytes(signed)


def canonical_bytes(root: etree._Element) -> bytes:
    """Exclusive C14N 1.0 (no comments) of the document: the form receipts are written in."""
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


def parse_statement(text: str) -> dict[str, Any] | None:
    """A statement's fields, or None when it is not a JSON object."""
    try:
        fields = json.loads(text)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def issued_text(moment: datetime) -> str:
    """The ``issued`` attribute of a receipt made at ``moment``."""
    return moment.isoformat(timespec="seconds")
