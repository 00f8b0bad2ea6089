"""The safety limits of reading a packet: every dimension a sender controls is bounded.

Each limit is checked in time linear in the packet, and each has its own error code; the
values and codes are listed in docs/limits.md. The defaults suit edXML packets with room to
spare: real packets have short names and attribute values, a handful of recipients and
attachments, and put their bulk in base64 attachment content, which only ``max_bytes`` bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from edxml.errors import MAX_ISSUES


@dataclass(frozen=True)
class Limits:
    """Safety limits applied while reading; the defaults suit edXML packets."""

    max_bytes: int = 256 * 1024 * 1024
    """Largest input accepted, in bytes (the packet as received, base64 included)."""
    max_depth: int = 48
    """Deepest element nesting; real packets stay under 10."""
    max_text: int = 1024 * 1024
    """Longest text of one element, except elements whose text is streamed (attachments)."""
    max_elements: int = 50_000
    """Most elements in one packet: the largest real shape (1,000 recipients, 1,000
    attachments and their manifest) has about 25,000; each schema error costs microseconds."""
    max_children: int = 2000
    """Most child elements of one element (recipients and attachments are at most 1,000
    each): libxml2 names each schema error by its position among its siblings, which costs
    that many steps."""
    max_attributes: int = 64
    """Most attributes on one element."""
    max_total_attributes: int = 20_000
    """Most attributes in one packet, namespace declarations included (each costs a copy
    when its element is kept as an extension)."""
    max_leading_bytes: int = 64
    """Stray bytes tolerated before the XML declaration (some senders prefix a length)."""
    streamed_text: frozenset[str] = frozenset({"ContentTransferEncoded"})
    """Local names whose text may be as long as the packet (base64 attachment content)."""
    max_name: int = 1024
    """Longest name, in bytes: of an element or attribute (prefix included), a PI target, an
    entity or character reference (``&name;``, ``&#…;``); real ones are under 50."""
    max_attribute_value: int = 64 * 1024
    """Longest attribute value, in bytes as written; real ones are URIs and short codes."""
    max_tag_whitespace: int = 1024
    """Longest run of whitespace inside a tag, in bytes (indentation between attributes)."""
    max_tag: int = 128 * 1024
    """Longest start or end tag, in bytes from ``<`` to ``>``, all its attributes included."""
    max_comment: int = 64 * 1024
    """Longest comment, in bytes between ``<!--`` and ``-->``."""
    max_pi: int = 64 * 1024
    """Longest processing instruction (the XML declaration too), in bytes between ``<?``
    and ``?>``."""
    max_other_nodes: int = 10_000
    """Most comments, processing instructions and CDATA sections in one packet."""
    max_attachments: int = 1000
    """Most attachments (``ContentTransferEncoded`` elements) in one packet."""
    max_recipients: int = 1000
    """Most recipients (``To``) of one document packet."""
    max_issues: int = MAX_ISSUES
    """Most validation issues listed for one packet; one more issue counts the rest."""


DEFAULT_LIMITS = Limits()
