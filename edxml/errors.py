"""The exception tree of the edxml library.

Every error carries a stable ``code`` (for programs), a ``message`` (for people) and, where
it applies, the ``element`` and the ``line`` of the packet that caused it.

    EdxmlError                      base of everything this package raises
    ├── PacketError                 a packet cannot be read or accepted
    │   ├── UnsafeXmlError          hostile construct: DTD, entity, too deep, too large, too long
    │   ├── MalformedXmlError       not well-formed XML, or not an edXML packet at all
    │   ├── InvalidPacketError      well-formed, but breaks a rule routing depends on
    │   └── AttachmentError         an attachment cannot be decoded or found
    ├── BuildError                  a model cannot be written as a packet
    └── SigningError                a packet cannot be signed (bad key, certificate or layout)

Validation collects :class:`Issue` objects rather than raising; a list of them is cut at
:data:`MAX_ISSUES` by :func:`cap_issues`, whose last issue (code ``issues.more``) counts the rest,
so a packet with a million faults costs no more to report than one with a hundred.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_ISSUES = 100
"""Most issues listed for one packet; the rest are counted by one ``issues.more`` issue."""

MORE_ISSUES = "issues.more"
"""The code of the issue that stands for the issues left out of a capped list."""


class EdxmlError(Exception):
    """Raised for any failure inside the edxml library."""

    code = "edxml.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        element: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.element = element
        self.line = line

    def as_dict(self) -> dict[str, object]:
        """The error as the JSON object APIs and the CLI report."""
        return {
            "code": self.code,
            "message": self.message,
            "element": self.element,
            "line": self.line,
        }

    def __str__(self) -> str:
        where = []
        if self.element:
            where.append(self.element)
        if self.line:
            where.append(f"line {self.line}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"[{self.code}] {self.message}{suffix}"


class PacketError(EdxmlError):
    """Raised when a packet cannot be read or accepted."""

    code = "packet.invalid"


class UnsafeXmlError(PacketError):
    """Raised when the input holds a hostile construct or exceeds a safety limit."""

    code = "xml.unsafe"


class MalformedXmlError(PacketError):
    """Raised when the input is not well-formed XML or not an edXML packet."""

    code = "xml.malformed"


class InvalidPacketError(PacketError):
    """Raised when a well-formed packet breaks a rule that routing depends on."""

    code = "packet.invalid"
    issues: list[Issue]

    @classmethod
    def from_issues(cls, issues: list[Issue]) -> InvalidPacketError:
        """The error for a list of rule violations: the first one, with all of them kept."""
        first = issues[0] if issues else Issue("packet.invalid", "the packet is not valid")
        error = cls(first.message, code=first.code, element=first.element, line=first.line)
        error.issues = list(issues) or [first]
        return error

    def as_dict(self) -> dict[str, object]:
        """The first violation, with the full list under ``issues`` when there are several."""
        data = super().as_dict()
        if len(getattr(self, "issues", [])) > 1:
            data["issues"] = [issue.as_dict() for issue in self.issues]
        return data


class AttachmentError(PacketError):
    """Raised when an attachment cannot be decoded, or is asked for and not present."""

    code = "attachment.invalid"


class BuildError(EdxmlError):
    """Raised when a model cannot be written as a packet."""

    code = "build.invalid"


class SigningError(EdxmlError):
    """Raised when a packet cannot be signed with the given key and certificate."""

    code = "signature.cannot-sign"


class Issue:
    """One problem found by validation: what programs match on, and where people look."""

    __slots__ = ("code", "element", "line", "message")

    def __init__(
        self, code: str, message: str, element: str | None = None, line: int | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.element = element
        self.line = line

    @classmethod
    def from_error(cls, error: EdxmlError) -> Issue:
        """The issue an exception stands for."""
        return cls(error.code, error.message, error.element, error.line)

    def as_dict(self) -> dict[str, object]:
        """The issue as a JSON object: code, element, line, message."""
        return {
            "code": self.code,
            "element": self.element,
            "line": self.line,
            "message": self.message,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Issue) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.code, self.element, self.line, self.message))

    def __repr__(self) -> str:
        return (
            f"Issue({self.code!r}, {self.message!r}, element={self.element!r}, line={self.line!r})"
        )


class MoreIssues(Issue):
    """Stands for the issues left out of a capped list: how many, not which."""

    __slots__ = ("count",)

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(MORE_ISSUES, f"{count} more issues not listed (at most {limit} are)")
        self.count = count


def cap_issues(issues: Sequence[Issue], limit: int = MAX_ISSUES, *, more: int = 0) -> list[Issue]:
    """At most ``limit`` issues, then one :class:`MoreIssues` counting the rest (``more`` of
    them left out before by the caller; a :class:`MoreIssues` in ``issues`` adds its count)."""
    rest = more
    kept: list[Issue] = []
    for issue in issues:
        if isinstance(issue, MoreIssues):
            rest += issue.count
        elif len(kept) < limit:
            kept.append(issue)
        else:
            rest += 1
    if rest:
        kept.append(MoreIssues(rest, limit))
    return kept
