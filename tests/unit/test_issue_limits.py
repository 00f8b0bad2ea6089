"""Validation costs as much for a million faults as for a hundred: each identity constraint is
checked once, a repeated recipient is refused at its first repeat, and issue lists are capped
with a count of the rest."""

from __future__ import annotations

import io

import pytest
from lxml import etree

from edxml import schema
from edxml.errors import MORE_ISSUES, Issue, MoreIssues, UnsafeXmlError, cap_issues
from edxml.inspect import check
from edxml.reader import examine, parse
from edxml.xmlstream import Limits
from tests.unit.packets import document_bytes, edit

FIRST_TO = "<edXML:To>"
REPEATED_TO = "<edXML:To><edXML:OrganId>000.00.12.H26</edXML:OrganId></edXML:To>\n"
ANONYMOUS_TO = "<edXML:To><edXML:OrganName>Không mã</edXML:OrganName></edXML:To>\n"


def _with_recipients(extra: str, count: int) -> bytes:
    """The test document with ``count`` more To elements, one a line, before its first To."""
    return edit(document_bytes(), FIRST_TO, extra * count + FIRST_TO)


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(huge_tree=False))


def _line_of(data: bytes, text: str, occurrence: int) -> int:
    """The 1-based line of the ``occurrence``-th (from 1) ``text`` in ``data``."""
    at = -1
    for _ in range(occurrence):
        at = data.index(text.encode(), at + 1)
    return data.count(b"\n", 0, at) + 1


def test_schema_reports_a_recipient_repeated_thousands_of_times_once_at_its_first_repeat() -> None:
    data = _with_recipients(REPEATED_TO, 3000)
    issues = schema.validate(_tree(data), "edoc")
    duplicates = [issue for issue in issues if issue.code == schema.DUPLICATE]
    assert len(duplicates) == 1
    assert duplicates[0].element == "To"
    assert duplicates[0].line == _line_of(data, REPEATED_TO.strip(), 2)


def test_xmlschema_reports_a_repeated_recipient_once_too() -> None:
    data = _with_recipients(REPEATED_TO, 50)
    issues = schema.validate_with_xmlschema(_tree(data), "edoc")
    assert [issue.code for issue in issues] == [schema.DUPLICATE]


def test_reader_reports_a_recipient_repeated_many_times_once_at_its_first_repeat() -> None:
    data = _with_recipients(REPEATED_TO, 1500)
    reading = examine(data, limits=Limits(max_recipients=4000))
    issues = [issue for issue in reading.issues if issue.code != MORE_ISSUES]
    assert [issue.code for issue in issues] == ["packet.duplicate-recipient"]
    assert issues[0].element == "To/OrganId"
    assert issues[0].line == _line_of(data, REPEATED_TO.strip(), 2)


def test_each_identity_constraint_is_evaluated_once_however_often_the_engine_reports_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    evaluate = schema._constraint_issues

    def counted(root: etree._Element, name: str, unique: bool) -> list[Issue]:
        calls.append(name)
        return evaluate(root, name, unique)

    monkeypatch.setattr(schema, "_constraint_issues", counted)
    schema.validate(_tree(_with_recipients(ANONYMOUS_TO, 500)), "edoc")
    assert sorted(calls) == sorted(set(calls))
    assert "To.OrganId" in calls


def test_schema_lists_at_most_the_cap_and_counts_the_rest() -> None:
    issues = schema.validate(_tree(_with_recipients(ANONYMOUS_TO, 2000)), "edoc", max_issues=10)
    assert len(issues) == 11
    assert all(issue.code == schema.MISSING for issue in issues[:10])
    summary = issues[-1]
    assert isinstance(summary, MoreIssues)
    assert summary.code == MORE_ISSUES
    assert summary.count == 1990


def test_reader_lists_at_most_the_cap_and_counts_the_rest() -> None:
    reading = examine(_with_recipients(ANONYMOUS_TO, 300), limits=Limits(max_issues=20))
    assert len(reading.issues) == 21
    assert reading.packet is None
    summary = reading.issues[-1]
    assert isinstance(summary, MoreIssues)
    assert summary.count == 280


def test_a_packet_with_a_thousand_faults_reports_the_default_cap_and_a_count() -> None:
    _, issues = check(_with_recipients(ANONYMOUS_TO, 1500))
    assert len(issues) == 101
    summary = issues[-1]
    assert isinstance(summary, MoreIssues)
    assert summary.count > 0
    assert str(summary.count) in summary.message


def test_capping_keeps_the_first_issues_and_folds_earlier_counts() -> None:
    issues = [Issue("a", str(index)) for index in range(5)]
    capped = cap_issues([*issues, MoreIssues(7, 5)], 3, more=2)
    assert capped[:3] == issues[:3]
    last = capped[3]
    assert isinstance(last, MoreIssues)
    assert last.count == 2 + 2 + 7


def test_capping_adds_nothing_under_the_cap() -> None:
    issues = [Issue("a", "one"), Issue("b", "two")]
    assert cap_issues(issues, 3) == issues


def test_recipients_beyond_the_limit_are_refused_naming_the_first_extra_one() -> None:
    data = _with_recipients(ANONYMOUS_TO, 5)
    issues = examine(data, limits=Limits(max_recipients=4)).issues
    assert issues[0].code == "packet.too-many-recipients"
    assert issues[0].element == "To"
    assert issues[0].line == _line_of(data, "<edXML:To>", 5)


def _with_attachments(count: int) -> bytes:
    data = document_bytes()
    start = data.index(b"<Attachment>")
    end = data.index(b"</Attachment>") + len(b"</Attachment>")
    return data[:start] + data[start:end] * count + data[end:]


@pytest.mark.parametrize("path", ["whole", "streamed"])
def test_attachments_beyond_the_limit_are_refused_on_both_read_paths(path: str) -> None:
    data = _with_attachments(4)
    source = data if path == "whole" else io.BytesIO(data)
    with pytest.raises(UnsafeXmlError) as caught:
        parse(source, limits=Limits(max_attachments=3))
    assert caught.value.code == "attachment.too-many"
    assert caught.value.element == "ContentTransferEncoded"
    assert caught.value.line == _line_of(data, "<edXML:ContentTransferEncoded", 4)


def test_attachments_up_to_the_limit_are_read() -> None:
    packet = parse(_with_attachments(3), limits=Limits(max_attachments=3))
    assert len(packet.attachments) == 3  # type: ignore[union-attr]
