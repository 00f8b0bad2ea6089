"""Namespace URIs and the prefixes the packets are written with."""

from __future__ import annotations

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
