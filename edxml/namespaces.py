"""Namespace URIs and the prefixes the packets are written with; which URIs a tree can hold."""

from __future__ import annotations

import functools

from lxml import etree

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
"""The edXML namespace of QCVN 102:2016 (default namespace on the root, ``edXML:`` inside)."""

EDXML_PREFIX = "edXML"

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
"""The standard XML-Signature namespace."""

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XLINK_NS = "http://www.w3.org/1999/xlink"


def clark(local: str, ns: str = EDXML_NS) -> str:
    """The ``{ns}local`` name of an element."""
    return f"{{{ns}}}{local}"


@functools.lru_cache(maxsize=64)
def is_valid_namespace(uri: str) -> bool:
    """Whether a tree (lxml, libxml2) can hold an element in the namespace ``uri``.

    libxml2 takes a namespace name only if it parses as a URI reference: no space, ``^``,
    backtick, ``{``, control or non-ASCII character, no ``%`` without two hex digits. The
    empty URI (an undeclared default namespace) is valid.
    """
    if not uri:
        return True
    try:
        etree.Element("n", nsmap={"n": uri})
    except ValueError:
        return False
    return True
