"""Limits on the shape of a packet: children of one element and elements in all, read the
same on both read paths; and packets longer than 65,534 lines, read without failing."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import pytest

from edxml.errors import UnsafeXmlError
from edxml.limits import DEFAULT_LIMITS, Limits
from edxml.models import DocumentPacket
from edxml.reader import examine, parse
from tests.unit.packets import document_bytes, edit

DOCUMENT_ID = "<edXML:DocumentId>"
READ_PATHS: dict[str, Callable[[bytes], object]] = {"whole": bytes, "streamed": io.BytesIO}


def _with_note(children: int) -> bytes:
    """The test document with a MessageHeader extension of ``children`` empty elements."""
    note = "<edXML:Note>" + "<q/>" * children + "</edXML:Note>\n"
    return edit(document_bytes(), DOCUMENT_ID, note + DOCUMENT_ID)


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_an_element_with_more_children_than_the_limit_is_refused(path: str) -> None:
    data = _with_note(DEFAULT_LIMITS.max_children + 1)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(READ_PATHS[path](data))  # type: ignore[arg-type]
    assert caught.value.code == "xml.too-many-children"
    assert caught.value.element == "q"
    assert "'Note'" in caught.value.message


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_an_element_with_children_up_to_the_limit_is_read(path: str) -> None:
    data = _with_note(DEFAULT_LIMITS.max_children)
    assert parse(READ_PATHS[path](data)) is not None  # type: ignore[arg-type]


def test_the_children_limit_counts_per_parent_not_per_packet() -> None:
    data = _with_note(30)
    data = edit(data, DOCUMENT_ID, "<edXML:Note>" + "<q/>" * 30 + "</edXML:Note>" + DOCUMENT_ID)
    assert parse(io.BytesIO(data), limits=Limits(max_children=40)) is not None


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_a_packet_over_the_element_count_is_refused(path: str) -> None:
    notes = "".join(
        "<edXML:Note>" + "<q/>" * 1000 + "</edXML:Note>"
        for _ in range(DEFAULT_LIMITS.max_elements // 1000)
    )
    data = edit(document_bytes(), DOCUMENT_ID, notes + DOCUMENT_ID)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(READ_PATHS[path](data))  # type: ignore[arg-type]
    assert caught.value.code == "xml.too-many-elements"


def test_elements_past_line_65534_are_read_with_their_line_unknown() -> None:
    wrapped = base64.encodebytes(bytes(range(256)) * 24_000).decode()
    assert wrapped.count("\n") > 70_000
    data = document_bytes().decode()
    start = data.index("<Attachment>")
    end = data.index("</Attachment>") + len("</Attachment>")
    attachment = data[start:end]
    content_at = attachment.index("JVBER")
    big = attachment[:content_at] + wrapped + attachment[attachment.index("</edXML:Content") :]
    text = data[:start] + big + "\n" + attachment + data[end:]
    reading = examine(io.BytesIO(text.encode()))
    packet = reading.packet
    assert isinstance(packet, DocumentPacket)
    lines = [attachment.line for attachment in packet.attachments]
    assert lines == [text[:start].count("\n") + 1, None]
