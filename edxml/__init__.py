"""edxml: read, check, build, sign and verify edXML packets (QCVN 102:2016).

A standalone library: it imports nothing from the hub. Reading is one safe streaming pass
(no DTD, no entities, no network; sizes, counts and tokens bounded in linear time, see
``edxml.limits``), so large packets are never held as a whole tree.
"""

from __future__ import annotations

from edxml.agency import AgencyCode, child_code, is_qcvn_code, level_of, parse_agency_code
from edxml.attachments import extract_inner, folder_opener
from edxml.builder import build, write
from edxml.compose import FileToAttach, new_document, status_for
from edxml.errors import (
    AttachmentError,
    BuildError,
    EdxmlError,
    InvalidPacketError,
    Issue,
    MalformedXmlError,
    PacketError,
    SigningError,
    UnsafeXmlError,
)
from edxml.inspect import Inspection, check, inspect, inspect_packet
from edxml.models import (
    Attachment,
    DocumentPacket,
    Extension,
    Organization,
    Packet,
    StatusPacket,
)
from edxml.reader import examine, parse, read
from edxml.signature import (
    SignatureOutcome,
    load_certificates,
    load_crls,
    load_key_and_cert,
    sign,
    verify,
)
from edxml.xmlstream import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "AgencyCode",
    "Attachment",
    "AttachmentError",
    "BuildError",
    "DocumentPacket",
    "EdxmlError",
    "Extension",
    "FileToAttach",
    "Inspection",
    "InvalidPacketError",
    "Issue",
    "Limits",
    "MalformedXmlError",
    "Organization",
    "Packet",
    "PacketError",
    "SignatureOutcome",
    "SigningError",
    "StatusPacket",
    "UnsafeXmlError",
    "build",
    "check",
    "child_code",
    "examine",
    "extract_inner",
    "folder_opener",
    "inspect",
    "inspect_packet",
    "is_qcvn_code",
    "level_of",
    "load_certificates",
    "load_crls",
    "load_key_and_cert",
    "new_document",
    "parse",
    "parse_agency_code",
    "read",
    "sign",
    "status_for",
    "verify",
    "write",
]
