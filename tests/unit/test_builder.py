"""Building packets: the samples' layout, and parse(build(m)) == m for any model."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from edxml.builder import build
from edxml.compose import FileToAttach, attach, new_document, status_for
from edxml.errors import BuildError
from edxml.models import (
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentHeader,
    DocumentPacket,
    DocumentType,
    Extension,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignatureInfo,
    SignerInfo,
    StaffInfo,
    StatusHeader,
    StatusPacket,
    TraceHeader,
    TraceHeaderList,
)
from edxml.namespaces import EDXML_NS
from edxml.reader import parse
from tests.unit.packets import document

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệ"
    "ìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵĐĂÂÊÔƠƯ"
)
ALPHABET = VIETNAMESE + "ABCXYZ0123456789 .,-/&<>\"'()"

text = st.text(alphabet=ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
maybe = st.none() | text
codes = st.from_regex(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}", fullmatch=True)

organizations = st.builds(
    Organization,
    organ_id=codes,
    organization_in_charge=maybe,
    organ_name=maybe,
    organ_add=maybe,
    email=maybe,
    telephone=maybe,
    fax=maybe,
    website=maybe,
)
staff = st.none() | st.builds(StaffInfo, department=maybe, staff=maybe, mobile=maybe, email=maybe)
extensions = st.lists(
    st.sampled_from(
        [
            Extension(
                tag=f"{{{EDXML_NS}}}ApplicationType",
                xml=(
                    f'<edXML:ApplicationType xmlns:edXML="{EDXML_NS}">'
                    "iOffice</edXML:ApplicationType>"
                ),
            ),
            Extension(
                tag="{urn:example}Task",
                xml='<x:Task xmlns:x="urn:example" code="7">Việc 7</x:Task>',
            ),
        ]
    ),
    max_size=2,
    unique=True,
).map(tuple)

business = st.none() | st.builds(
    Business,
    document_id=maybe,
    business_doc_type=st.sampled_from(["0", "1", "2", "3"]),
    business_doc_reason=maybe,
    paper=st.sampled_from(["0", "1"]),
    staff_info=staff,
    document_info=st.none()
    | st.builds(
        BusinessDocumentInfo,
        document_info=st.sampled_from(["0", "1"]),
        document_receiver=st.sampled_from(["0", "1"]),
        receivers=st.lists(
            st.builds(Receiver, organ_id=codes, receiver_type=st.sampled_from(["0", "1"])),
            min_size=1,
            max_size=3,
        ).map(tuple),
    ),
    replacements=st.none()
    | st.lists(
        st.builds(
            ReplacementInfo,
            document_id=text,
            organ_ids=st.lists(codes, min_size=1, max_size=3).map(tuple),
        ),
        min_size=1,
        max_size=2,
    ).map(tuple),
    extensions=extensions,
)

document_headers = st.builds(
    DocumentHeader,
    from_=organizations,
    to=st.lists(organizations, min_size=1, max_size=4, unique_by=lambda o: o.organ_id).map(tuple),
    document_id=text,
    code=st.none() | st.builds(Code, code_number=maybe, code_notation=maybe),
    promulgation_info=st.none() | st.builds(PromulgationInfo, place=maybe, promulgation_date=maybe),
    document_type=st.none()
    | st.builds(DocumentType, type=maybe, type_detail=maybe, type_name=maybe),
    subject=maybe,
    content=maybe,
    signer_info=st.none()
    | st.builds(SignerInfo, competence=maybe, position=maybe, full_name=maybe),
    due_date=maybe,
    to_places=st.none() | st.lists(text, min_size=1, max_size=3).map(tuple),
    other_info=st.none()
    | st.builds(
        OtherInfo,
        priority=st.none() | st.sampled_from(["0", "1", "2", "3", "4"]),
        sphere_of_promulgation=maybe,
        typer_notation=maybe,
        promulgation_amount=maybe,
        page_amount=maybe,
        direction=st.none() | st.sampled_from(["true", "false"]),
        appendixes=st.none() | st.lists(text, min_size=1, max_size=2).map(tuple),
    ),
    response_for=st.lists(
        st.builds(
            ResponseFor, organ_id=maybe, code=maybe, promulgation_date=maybe, document_id=maybe
        ),
        max_size=2,
    ).map(tuple),
    steering_type=st.none() | st.sampled_from(["0", "1"]),
    extensions=extensions,
)

traces = st.none() | st.builds(
    TraceHeaderList,
    trace_headers=st.lists(
        st.builds(TraceHeader, organ_id=st.none() | codes, timestamp=maybe), max_size=3
    ).map(tuple),
    business=business,
)

files = st.lists(
    st.builds(
        FileToAttach,
        data=st.binary(max_size=300),
        name=text.map(lambda t: t.replace("/", "-") + ".pdf"),
        zip=st.booleans(),
    ),
    max_size=3,
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[DocumentPacket, list[bytes]]:
    manifest, attachments, contents = attach(draw(files))
    packet = DocumentPacket(
        header=draw(document_headers),
        trace=draw(traces),
        manifest=manifest,
        attachments=attachments,
        extensions=draw(extensions),
    )
    return packet, [c for c in contents if isinstance(c, bytes)]


statuses = st.builds(
    StatusPacket,
    header=st.builds(
        StatusHeader,
        from_=organizations,
        response_for=st.builds(
            ResponseFor, organ_id=codes, code=maybe, promulgation_date=maybe, document_id=text
        ),
        staff_info=staff,
        status_code=st.sampled_from(["01", "02", "03", "04", "05", "06", "13", "15", "16"]),
        description=maybe,
        timestamp=maybe,
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_document_round_trips_through_build_and_parse(
    case: tuple[DocumentPacket, list[bytes]],
) -> None:
    packet, contents = case
    assert parse(build(packet, contents)) == packet


@settings(max_examples=150, deadline=None)
@given(statuses)
def test_status_round_trips_through_build_and_parse(packet: StatusPacket) -> None:
    assert parse(build(packet)) == packet


def test_layout_matches_the_samples() -> None:
    _, data = document((FileToAttach(b"%PDF", name="a.pdf"),))
    text = data.decode()
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + EDXML_NS + '">'
    )
    assert f'<edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">' in text
    root = etree.fromstring(data)
    envelope, encoded = list(root)
    assert envelope.prefix == "edXML"
    assert all(el.prefix == "edXML" for el in envelope.iter())
    assert encoded.tag == f"{{{EDXML_NS}}}AttachmentEncoded"
    assert encoded.prefix is None
    content = encoded.find(f"{{{EDXML_NS}}}Attachment/{{{EDXML_NS}}}ContentTransferEncoded")
    assert content is not None
    assert content.prefix == "edXML"


def test_signature_goes_after_the_trace_list_in_document_order() -> None:
    _, data = document()
    header = etree.fromstring(data)[0][0]
    assert [etree.QName(el).localname for el in header] == ["MessageHeader", "TraceHeaderList"]


def test_content_that_differs_from_the_model_is_refused() -> None:
    packet, contents = new_document(
        sender="000.00.00.H26", recipients=["000.00.12.H26"], number="1", notation="X",
        subject="s", files=[FileToAttach(b"one", name="a.txt")],
    )  # fmt: skip
    with pytest.raises(BuildError) as caught:
        build(packet, [b"two"])
    assert caught.value.code == "build.attachment-mismatch"
    assert len(contents) == 1


def test_characters_xml_cannot_carry_are_refused_naming_the_field() -> None:
    packet, _ = document()
    bad = packet.model_copy(
        update={"header": packet.header.model_copy(update={"subject": "bell\x07"})}
    )
    with pytest.raises(BuildError) as caught:
        build(bad)
    assert caught.value.element == "Subject"


def test_a_model_with_a_signature_is_not_built_as_if_signed() -> None:
    packet, _ = document()
    with pytest.raises(BuildError) as caught:
        build(packet.model_copy(update={"signature": SignatureInfo(layout="legacy")}))
    assert caught.value.code == "build.signed-model"


def test_status_answers_the_document_it_is_built_for() -> None:
    packet, _ = document()
    status = status_for(packet, "01", timestamp=dt.datetime(2026, 11, 20, 8, 31))
    assert status.header.response_for.document_id == packet.document_id
    assert status.header.response_for.organ_id == packet.sender
    assert status.sender == packet.recipients[0]
    assert status.header.description == "Đã đến"
    assert status.header.timestamp == "2026/11/20 08:31:00"


def test_status_code_must_be_two_digits_when_building() -> None:
    packet, _ = document()
    with pytest.raises(BuildError):
        status_for(packet, "7")


def test_new_document_id_follows_the_issuer_date_number_form() -> None:
    packet, _ = document()
    assert packet.document_id == "000.05.12.H26,2026/11/20,15/UBND-VP"


def test_built_attachment_hash_is_of_the_file() -> None:
    packet, _ = document((FileToAttach(b"abc", name="a.txt"),))
    assert packet.attachments[0].sha256 == hashlib.sha256(b"abc").hexdigest()
