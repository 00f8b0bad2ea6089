"""The two reading paths agree: lxml on small bytes (fast) and the expat streaming pass.

``examine(data)`` takes the fast path for small packets given as bytes; ``examine(BytesIO)``
always streams. Whatever the packet, both must give the same model, the same issues (or the
same error), the same warnings and the same tree, and the signature found from the lxml tree
must be the one found from the stream.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

import edxml.reader as reader
from edxml.builder import build
from edxml.inspect import inspect
from edxml.models import DocumentPacket, Packet, StatusPacket
from edxml.reader import examine
from edxml.signature import FAST_PATH_MAX, SignatureOutcome, Verification, sign, verify
from edxml.xmlstream import DEFAULT_LIMITS, Rereadable, Source
from tests.unit import sigtools
from tests.unit.packets import document_bytes, edit, status_bytes
from tests.unit.test_builder import documents, statuses

SAMPLES = [
    "edoc_new.edxml",
    "edoc_replacement.edxml",
    "edoc_revocation.edxml",
    "edoc_update.edxml",
    "status_acceptance_03.edxml",
    "status_assignment_04.edxml",
    "status_cancellation_13.edxml",
    "status_change-acceptance_15.edxml",
    "status_change-rejection_16.edxml",
    "status_finish_06.edxml",
    "status_inbox_01.edxml",
    "status_processing_05.edxml",
    "status_rejection_02.edxml",
]


# -- reading both ways ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What one path made of a packet, in comparable form."""

    packet: Packet | None = None
    issues: tuple[tuple[tuple[str, Any], ...], ...] = ()
    warnings: tuple[str, ...] = ()
    tree: bytes = b""
    lines: tuple[tuple[str, int | None], ...] = ()
    error: tuple[str, ...] | None = None


def _line(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def _reading(source: Source) -> Reading:
    try:
        result = examine(source)
    except Exception as exc:  # compared, not hidden: both paths must fail the same way
        code = getattr(exc, "as_dict", None)
        return Reading(error=(str(code()) if code else f"{type(exc).__name__}: {exc}",))
    lines = tuple((str(el.tag), _line(el)) for el in result.tree.iter() if isinstance(el.tag, str))
    return Reading(
        packet=result.packet,
        issues=tuple(tuple(issue.as_dict().items()) for issue in result.issues),
        warnings=tuple(result.report.warnings),
        tree=etree.tostring(result.tree, method="c14n"),
        lines=lines,
    )


@contextmanager
def _watching_the_fast_path() -> Iterator[list[bool]]:
    """Records, for each read, whether the lxml fast path produced the tree."""
    taken: list[bool] = []
    original = reader._read_small

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        taken.append(result is not None)
        return result

    reader._read_small = spy
    try:
        yield taken
    finally:
        reader._read_small = original


@dataclass(frozen=True)
class BothPaths:
    fast: Reading
    streamed: Reading
    fast_path_taken: bool


def _both(data: bytes) -> BothPaths:
    with _watching_the_fast_path() as taken:
        fast = _reading(data)
        attempts = len(taken)
        streamed = _reading(io.BytesIO(data))
    assert len(taken) == attempts, "a file object must never take the fast path"
    return BothPaths(fast, streamed, any(taken))


# -- sanity: the two paths really are different ------------------------------------------------


def test_small_bytes_take_the_fast_path() -> None:
    assert _both(document_bytes()).fast_path_taken


def test_a_processing_instruction_sends_small_bytes_down_the_streaming_path() -> None:
    data = edit(document_bytes(), "<edXML:Subject>", "<?app x?><edXML:Subject>")
    assert not _both(data).fast_path_taken


# -- the public samples --------------------------------------------------------------------


@functools.cache
def _sample(samples_dir: Path, name: str) -> BothPaths:
    return _both((samples_dir / name).read_bytes())


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_read_on_the_fast_path(samples_dir: Path, name: str) -> None:
    assert _sample(samples_dir, name).fast_path_taken


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_gives_the_same_model_on_both_paths(samples_dir: Path, name: str) -> None:
    both = _sample(samples_dir, name)
    assert both.fast.error is None
    assert both.fast.packet is not None
    assert both.fast.packet == both.streamed.packet


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_gives_the_same_issues_on_both_paths(samples_dir: Path, name: str) -> None:
    both = _sample(samples_dir, name)
    assert both.fast.issues == both.streamed.issues


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_gives_the_same_warnings_on_both_paths(samples_dir: Path, name: str) -> None:
    both = _sample(samples_dir, name)
    assert both.fast.warnings == both.streamed.warnings


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_gives_the_same_canonical_tree_on_both_paths(samples_dir: Path, name: str) -> None:
    both = _sample(samples_dir, name)
    assert both.fast.tree
    assert both.fast.tree == both.streamed.tree


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_tree_elements_carry_the_same_lines_on_both_paths(
    samples_dir: Path, name: str
) -> None:
    both = _sample(samples_dir, name)
    assert both.fast.lines == both.streamed.lines


# -- mutated packets -----------------------------------------------------------------------

SUBJECT = "Về việc triển khai chữ ký số chuyên dùng"
DOCUMENT_ID = "<edXML:DocumentId>000.05.12.H26,2026/11/20,15/UBND-VP</edXML:DocumentId>"


def _duplicate_first(data: bytes, local: str) -> bytes | None:
    text = data.decode()
    found = re.search(rf"<(\w+:)?{local}>.*?</(\w+:)?{local}>", text, re.DOTALL)
    if found is None:
        return None
    return (text[: found.end()] + found.group(0) + text[found.end() :]).encode()


def _declared(data: bytes, encoding: str, codec: str) -> bytes:
    text = data.decode().replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
    return text.encode(codec, errors="xmlcharrefreplace")


MUTATIONS: dict[str, Callable[[], bytes]] = {
    "strip-document-id": lambda: edit(document_bytes(), DOCUMENT_ID, ""),
    "strip-sender-code": lambda: edit(
        document_bytes(), "<edXML:OrganId>000.05.12.H26</edXML:OrganId>", ""
    ),
    "strip-envelope-header": lambda: re.sub(
        rb"<edXML:edXMLHeader>.*</edXML:edXMLHeader>", b"", document_bytes(), flags=re.DOTALL
    ),
    "duplicate-recipient": lambda: _duplicate_first(document_bytes(), "To") or b"",
    "duplicate-document-id": lambda: _duplicate_first(document_bytes(), "DocumentId") or b"",
    "unknown-extensions": lambda: edit(
        document_bytes(),
        "</edXML:MessageHeader>",
        "<edXML:ApplicationType>iOffice</edXML:ApplicationType>"
        '<x:ResponseForTask xmlns:x="urn:example" x:id="7">T-12</x:ResponseForTask>'
        "</edXML:MessageHeader>",
    ),
    "comment-inside-subject": lambda: edit(
        document_bytes(), "triển khai", "triển<!-- ghi chú --> khai"
    ),
    "comment-between-elements": lambda: edit(
        document_bytes(), "<edXML:Subject>", "<!-- trước --><edXML:Subject>"
    ),
    "comment-before-root": lambda: edit(
        document_bytes(), "<edXML xmlns", "<!-- đầu tệp -->\n<edXML xmlns"
    ),
    "processing-instruction-inside-header": lambda: edit(
        document_bytes(), "<edXML:Subject>", "<?app data?><edXML:Subject>"
    ),
    "processing-instruction-inside-subject": lambda: edit(
        document_bytes(), "triển khai", "triển<?app data?> khai"
    ),
    "processing-instruction-before-root": lambda: edit(
        document_bytes(), "<edXML xmlns", '<?xml-stylesheet href="a.xsl"?>\n<edXML xmlns'
    ),
    "cdata-subject": lambda: edit(document_bytes(), SUBJECT, f"<![CDATA[{SUBJECT} <&>]]>"),
    "cdata-inside-subject": lambda: edit(document_bytes(), "triển khai", "triển<![CDATA[ khai]]>"),
    "character-references": lambda: edit(
        document_bytes(), "triển khai", "tri&#x1EC3;n&#13;&#10;kh&#x61;i &amp; &lt;"
    ),
    "crlf-line-ends": lambda: document_bytes().replace(b"\n", b"\r\n"),
    "cr-line-ends": lambda: document_bytes().replace(b"\n", b"\r"),
    "cr-line-ends-and-no-document-id": lambda: edit(document_bytes(), DOCUMENT_ID, "").replace(
        b"\n", b"\r"
    ),
    "prefix-ns0": lambda: (
        document_bytes().replace(b"edXML:", b"ns0:").replace(b"xmlns:edXML", b"xmlns:ns0")
    ),
    "no-prefix-at-all": lambda: (
        document_bytes()
        .replace(b"edXML:", b"")
        .replace(b' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', b"")
    ),
    "unprefixed-element-under-prefixed-parent": lambda: edit(
        edit(document_bytes(), "<edXML:Subject>", "<Subject>"), "</edXML:Subject>", "</Subject>"
    ),
    "stray-bytes-before-declaration": lambda: b"1212" + document_bytes(),
    "whitespace-before-declaration": lambda: b" \n" * 50 + document_bytes(),
    "byte-order-mark": lambda: b"\xef\xbb\xbf" + document_bytes(),
    "attribute-whitespace": lambda: edit(
        document_bytes(), 'version="1.0">', 'version="1.0&#10;x&#9;y" extra=" a  b ">'
    ),
    "status-without-response-document": lambda: re.sub(
        rb"<edXML:DocumentId>[^<]*</edXML:DocumentId>", b"", status_bytes()
    ),
    "status-code-not-two-digits": lambda: edit(
        status_bytes(), "<edXML:StatusCode>03<", "<edXML:StatusCode>3<"
    ),
    "status-crlf": lambda: status_bytes().replace(b"\n", b"\r\n"),
    "not-well-formed": lambda: edit(document_bytes(), "</edXML:Subject>", "</edXML:Subjec>"),
    "foreign-root": lambda: b"<html><body>edXML</body></html>",
    "doctype": lambda: edit(
        document_bytes(), "<edXML xmlns", '<!DOCTYPE edXML [<!ENTITY x "y">]><edXML xmlns'
    ),
    "bad-attachment-base64": lambda: edit(document_bytes(), "JVBERi0x", "JVB*Ri0x"),
    "encoding-windows-1258": lambda: _declared(document_bytes(), "windows-1258", "cp1258"),
    "encoding-iso-8859-1": lambda: _declared(document_bytes(), "ISO-8859-1", "latin-1"),
    "encoding-utf-16-with-bom": lambda: _declared(document_bytes(), "UTF-16", "utf-16"),
    "encoding-shift-jis": lambda: _declared(document_bytes(), "Shift_JIS", "shift_jis"),
    "encoding-gb2312": lambda: _declared(document_bytes(), "GB2312", "gb2312"),
    # Found by fuzzing (tests/fuzz): libxml2 takes names expat refuses, and read the text of
    # an attachment only up to its first child element.
    "attribute-name-with-a-byte-order-mark": lambda: edit(
        document_bytes(), 'version="1.0">', 'version="1.0" a\ufeff="1">'
    ),
    "vietnamese-extension-name": lambda: edit(
        document_bytes(), "<edXML:Subject>", "<edXML:Ghi_chú>x</edXML:Ghi_chú><edXML:Subject>"
    ),
    "attachment-text-split-by-an-element": lambda: edit(
        document_bytes(), "JVBERi0x", "JVBE<x/>Ri0x"
    ),
    "attachment-inside-attachment": lambda: edit(
        document_bytes(),
        "JVBERi0x",
        "JVBE<edXML:ContentTransferEncoded>QUJD</edXML:ContentTransferEncoded>Ri0x",
    ),
    "element-name-over-the-limit": lambda: edit(
        document_bytes(), "<edXML:Subject>", f"<{'e' * 1100}/><edXML:Subject>"
    ),
    "comment-over-the-limit": lambda: edit(
        document_bytes(), "<edXML:Subject>", f"<!--{'c' * 70_000}--><edXML:Subject>"
    ),
}


@functools.cache
def _mutated(name: str) -> BothPaths:
    data = MUTATIONS[name]()
    assert data, name
    return _both(data)


def test_mutations_change_what_they_claim_to_change() -> None:
    def codes(name: str) -> set[str]:
        return {dict(issue)["code"] for issue in _mutated(name).streamed.issues}

    assert "packet.missing-element" in codes("strip-document-id")
    assert "packet.duplicate-recipient" in codes("duplicate-recipient")
    assert "packet.bad-status-code" in codes("status-code-not-two-digits")
    assert _mutated("stray-bytes-before-declaration").streamed.warnings
    assert _mutated("doctype").streamed.error is not None
    extended = _mutated("unknown-extensions").streamed.packet
    assert isinstance(extended, DocumentPacket)
    assert extended.header.extension("ApplicationType") is not None
    commented = _mutated("comment-inside-subject").streamed.packet
    assert isinstance(commented, DocumentPacket)
    assert commented.header.subject == SUBJECT


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_packet_gives_the_same_model_or_error_on_both_paths(name: str) -> None:
    both = _mutated(name)
    assert (both.fast.error, both.fast.packet) == (both.streamed.error, both.streamed.packet)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_packet_gives_the_same_issues_on_both_paths(name: str) -> None:
    both = _mutated(name)
    assert both.fast.issues == both.streamed.issues


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_packet_gives_the_same_warnings_on_both_paths(name: str) -> None:
    both = _mutated(name)
    assert both.fast.warnings == both.streamed.warnings


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_packet_gives_the_same_canonical_tree_on_both_paths(name: str) -> None:
    both = _mutated(name)
    assert both.fast.tree == both.streamed.tree


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_packet_tree_elements_carry_the_same_lines_on_both_paths(name: str) -> None:
    both = _mutated(name)
    assert both.fast.lines == both.streamed.lines


@pytest.mark.parametrize(
    "name", ["crlf-line-ends", "cr-line-ends", "prefix-ns0", "no-prefix-at-all", "byte-order-mark"]
)
def test_layout_only_mutation_reads_as_the_original_packet(name: str) -> None:
    original = _both(document_bytes()).streamed.packet
    both = _mutated(name)
    assert both.fast.packet == original
    assert both.streamed.packet == original


# -- generated packets -----------------------------------------------------------------------


def _cut_point(content: str) -> int:
    """A place in escaped text that is not inside an entity or character reference."""
    middle = len(content) // 2
    amp = content.rfind("&", 0, middle)
    if amp != -1 and content.find(";", amp) >= middle:
        return amp
    return middle


def _into_text(local: str, insert: str) -> Callable[[bytes], bytes | None]:
    def mutate(data: bytes) -> bytes | None:
        text = data.decode()
        found = re.search(rf"<(\w+:)?{local}>([^<]+)</", text)
        if found is None:
            return None
        at = found.start(2) + _cut_point(found.group(2))
        return (text[:at] + insert + text[at:]).encode()

    return mutate


def _strip(local: str) -> Callable[[bytes], bytes | None]:
    def mutate(data: bytes) -> bytes | None:
        stripped = re.sub(rf"<edXML:{local}>[^<]*</edXML:{local}>".encode(), b"", data, count=1)
        return stripped if stripped != data else None

    return mutate


GENERIC_MUTATIONS: dict[str, Callable[[bytes], bytes | None]] = {
    "unchanged": lambda data: data,
    "strip-document-id": _strip("DocumentId"),
    "strip-status-code": _strip("StatusCode"),
    "duplicate-recipient": lambda data: _duplicate_first(data, "To"),
    "unknown-extension": lambda data: data.replace(
        b"</edXML:MessageHeader>",
        b'<x:Task xmlns:x="urn:example" code="7">Vi\xe1\xbb\x87c</x:Task></edXML:MessageHeader>',
        1,
    ),
    "comment-in-document-id": _into_text("DocumentId", "<!-- ghi chú -->"),
    "pi-in-document-id": _into_text("DocumentId", "<?app x?>"),
    "cdata-in-document-id": _into_text("DocumentId", "<![CDATA[ <&> ]]>"),
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    "prefix-ns0": lambda data: data.replace(b"edXML:", b"ns0:").replace(
        b"xmlns:edXML", b"xmlns:ns0"
    ),
    "stray-bytes": lambda data: b"1212" + data,
}

GENERATED = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_same(both: BothPaths) -> None:
    assert both.fast.error == both.streamed.error
    assert both.fast.packet == both.streamed.packet
    assert both.fast.issues == both.streamed.issues
    assert both.fast.warnings == both.streamed.warnings
    assert both.fast.tree == both.streamed.tree
    assert both.fast.lines == both.streamed.lines


@GENERATED
@given(documents())
def test_generated_document_reads_the_same_on_both_paths(
    case: tuple[DocumentPacket, list[bytes]],
) -> None:
    packet, contents = case
    both = _both(build(packet, contents))
    assert both.fast_path_taken
    assert both.fast.packet == packet
    _assert_same(both)


@GENERATED
@given(statuses)
def test_generated_status_reads_the_same_on_both_paths(packet: StatusPacket) -> None:
    both = _both(build(packet))
    assert both.fast_path_taken
    assert both.fast.packet == packet
    _assert_same(both)


@GENERATED
@given(documents() | statuses.map(lambda s: (s, [])), st.sampled_from(list(GENERIC_MUTATIONS)))
def test_mutated_generated_packet_reads_the_same_on_both_paths(
    case: tuple[Packet, list[bytes]], mutation: str
) -> None:
    packet, contents = case
    data = GENERIC_MUTATIONS[mutation](build(packet, contents))
    assume(data is not None)
    assert data is not None
    _assert_same(_both(data))


# -- the signature: tree locator and streaming locator --------------------------------------


def _outcome(data: bytes, *, streamed: bool) -> SignatureOutcome:
    """The outcome of a Verification riding on examine(), down one path or the other."""
    with Rereadable(data, DEFAULT_LIMITS, small_max=FAST_PATH_MAX) as packet:
        check = Verification(packet)
        examine(io.BytesIO(data) if streamed else data, sinks=check.sinks)
        return check.finish()


def _sign(data: bytes, layout: str, c14n: Literal["exclusive", "inclusive"] = "exclusive") -> bytes:
    signer = sigtools.signer()
    return sign(data, signer.key, signer.cert, legacy=layout == "legacy", c14n=c14n)


def _flip_signature_value(data: bytes) -> bytes:
    found = re.search(rb"<(?:ds:)?SignatureValue>([A-Za-z0-9+/=\s]+)</", data)
    assert found is not None
    at = found.start(1) + 8
    return data[:at] + (b"B" if data[at : at + 1] != b"B" else b"C") + data[at + 1 :]


def _extension(xml: str) -> bytes:
    return sigtools.document_packet().replace(
        b"</edXML:MessageHeader>", xml.encode() + b"</edXML:MessageHeader>", 1
    )


SIGNED: dict[str, Callable[[str], bytes]] = {
    "signed": lambda layout: _sign(sigtools.document_packet(), layout),
    "signed-inclusive-c14n": lambda layout: _sign(sigtools.document_packet(), layout, "inclusive"),
    "signed-status": lambda layout: _sign(sigtools.status_packet(), layout),
    "tampered-header": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        "Hà Nội".encode(), "Hà Tây".encode(), 1
    ),
    "tampered-attachment": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        b"AAECAwQF", b"AAECAwQG", 1
    ),
    "broken-signature-value": lambda layout: _flip_signature_value(
        _sign(sigtools.document_packet(), layout)
    ),
    "comment-added-after-signing": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        b"<edXML:Subject>", b"<!-- c --><edXML:Subject>", 1
    ),
    "pi-added-after-signing": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        b"<edXML:Subject>", b"<?app x?><edXML:Subject>", 1
    ),
    "cdata-added-after-signing": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        "kết nối".encode(), "<![CDATA[kết nối]]>".encode(), 1
    ),
    "crlf-after-signing": lambda layout: _sign(sigtools.document_packet(), layout).replace(
        b"\n", b"\r\n"
    ),
    "prefix-swapped-after-signing": lambda layout: (
        _sign(sigtools.document_packet(), layout)
        .replace(b"edXML:", b"ns0:")
        .replace(b"xmlns:edXML", b"xmlns:ns0")
    ),
    "stray-bytes-after-signing": lambda layout: b"1212" + _sign(sigtools.document_packet(), layout),
    "attribute-prefix-ambiguous": lambda layout: _sign(
        _extension('<x:T xmlns:x="urn:e" xmlns:y="urn:e" x:a="1">t</x:T>'), layout
    ),
    "default-namespace-undeclared": lambda layout: _sign(_extension('<T xmlns="">t</T>'), layout),
    "namespace-uri-needing-escape": lambda layout: _sign(
        _extension('<x:T xmlns:x="urn:a&amp;b">t</x:T>'), "legacy"
    ),
}
LAYOUTS = ["standard", "legacy"]


@functools.cache
def _signed_case(name: str, layout: str) -> bytes:
    return SIGNED[name](layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SIGNED))
def test_tree_locator_and_streaming_locator_reach_the_same_outcome(name: str, layout: str) -> None:
    data = _signed_case(name, layout)
    with _watching_the_fast_path() as taken:
        from_tree = _outcome(data, streamed=False)
    assert taken == ["pi" not in name]
    assert from_tree == _outcome(data, streamed=True)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SIGNED))
def test_tree_locator_reaches_the_outcome_verify_reaches(name: str, layout: str) -> None:
    data = _signed_case(name, layout)
    assert _outcome(data, streamed=False) == verify(data)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SIGNED))
def test_inspect_of_bytes_and_of_a_stream_give_the_same_signature(name: str, layout: str) -> None:
    data = _signed_case(name, layout)
    assert inspect(data).signature == inspect(io.BytesIO(data)).signature


def test_signature_cases_reach_the_outcomes_they_are_named_for() -> None:
    for layout in LAYOUTS:
        status = {name: verify(_signed_case(name, layout)).status for name in SIGNED}
        assert status["signed"] == "valid"
        assert status["signed-status"] == "valid"
        assert status["comment-added-after-signing"] == "valid"
        assert status["crlf-after-signing"] == "valid"
        assert status["tampered-header"] == "invalid"
        assert status["tampered-attachment"] == "invalid"
        assert status["broken-signature-value"] == "invalid"
        assert status["pi-added-after-signing"] == "invalid"


@pytest.mark.parametrize("name", SAMPLES[:4])
def test_sample_signature_is_located_the_same_from_the_tree_and_the_stream(
    samples_dir: Path, name: str
) -> None:
    data = (samples_dir / name).read_bytes()
    from_tree = _outcome(data, streamed=False)
    assert from_tree.status == "unverifiable"
    assert from_tree == _outcome(data, streamed=True)
    assert from_tree == verify(data)
