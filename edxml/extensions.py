"""Unknown elements kept as XML text: a stable serialisation and reading them back."""

from __future__ import annotations

import threading

from lxml import etree

from edxml.errors import MalformedXmlError
from edxml.namespaces import EDXML_NS, EDXML_PREFIX

_per_thread = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_per_thread, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
        )
        _per_thread.parser = parser
    return parser


def _normalised_copy(element: etree._Element, parent: etree._Element | None) -> etree._Element:
    """Copy ``element`` so edXML names use the ``edXML:`` prefix and others keep theirs."""
    nsmap: dict[str | None, str] = {}
    uri = etree.QName(element).namespace
    if uri == EDXML_NS:
        nsmap[EDXML_PREFIX] = EDXML_NS
    elif uri:
        nsmap[element.prefix or "ns0"] = uri
    for name in element.attrib:
        attr_uri = etree.QName(name).namespace
        if attr_uri and attr_uri not in nsmap.values():
            prefix = next(
                (p for p, u in (element.nsmap or {}).items() if u == attr_uri and p), None
            )
            nsmap[prefix or f"ns{len(nsmap)}"] = attr_uri
    if parent is None:
        copy = etree.Element(element.tag, nsmap=nsmap)  # type: ignore[arg-type]
    else:
        copy = etree.SubElement(parent, element.tag, nsmap=nsmap)  # type: ignore[arg-type]
    for name, value in element.attrib.items():
        copy.set(name, value)
    copy.text = element.text
    for child in element:
        if not isinstance(child.tag, str):
            continue
        _normalised_copy(child, copy).tail = child.tail
    return copy


def serialise_extension(element: etree._Element) -> str:
    """The element as canonical XML text, independent of the prefixes of its surroundings.

    libxml2 will not canonicalise a relative namespace URI (``xmlns="a"``, deprecated but
    well-formed): such an extension is kept as plain XML text of the same copy instead.
    """
    copy = _normalised_copy(element, None)
    try:
        return etree.tostring(copy, method="c14n", exclusive=True).decode("utf-8")
    except etree.C14NError:
        return etree.tostring(copy, encoding="unicode")


def extension_element(xml: str) -> etree._Element:
    """Parse a kept extension back into an element."""
    try:
        return etree.fromstring(xml.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedXmlError(f"extension is not well-formed XML: {exc}") from exc


def extension_text(extension: object) -> str | None:
    """The text content of an extension element, stripped; None when it has none."""
    xml = getattr(extension, "xml", "")
    text = "".join(str(part) for part in extension_element(xml).itertext()).strip()
    return text or None
