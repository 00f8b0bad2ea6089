"""The exception tree of the hub.

Every error carries a stable ``code`` (for programs and API bodies) and a ``message`` written
for the person who has to fix the problem. Foreign exceptions (SQLAlchemy, pika, HTTP clients)
are translated into these at the boundary with ``raise ... from exc``.

    HubError                        base of everything the hub raises on purpose
    ├── ConfigurationError          a setting is missing or invalid
    ├── NotFoundError               a named agency, token or record does not exist
    ├── ConflictError               the request contradicts what is already stored
    ├── UnauthorizedError           credentials are missing, unknown or revoked
    ├── ForbiddenError              the caller is known but may not do this
    ├── DirectoryError              a directory file cannot be imported (lists every issue)
    ├── StorageError                the database or the payload store failed
    │   └── SchemaOutOfDateError    the database schema is not at this version's revision
    └── DeliveryError               a delivery attempt failed
        ├── TransientDeliveryError  worth retrying; carries the delay asked for, if any
        └── PermanentDeliveryError  retrying cannot help; the delivery is parked
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DeliveryError",
    "DirectoryError",
    "DirectoryIssue",
    "ForbiddenError",
    "HubError",
    "NotFoundError",
    "PermanentDeliveryError",
    "SchemaOutOfDateError",
    "StorageError",
    "TransientDeliveryError",
    "UnauthorizedError",
]


class HubError(Exception):
    """Raised for any failure the hub reports on purpose."""

    code = "hub.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, object]:
        """The error as the JSON object the API and the CLI report."""
        return {"code": self.code, "message": self.message}

    def __str__(self) -> str:
        return self.message


class ConfigurationError(HubError):
    """Raised when a setting is missing or has an invalid value."""

    code = "config.invalid"


class NotFoundError(HubError):
    """Raised when a named agency, token or record does not exist."""

    code = "not_found"


class ConflictError(HubError):
    """Raised when a request contradicts what is already stored."""

    code = "conflict"


class UnauthorizedError(HubError):
    """Raised when credentials are missing, unknown, revoked or belong to an inactive agency."""

    code = "unauthorized"


class ForbiddenError(HubError):
    """Raised when an authenticated agency asks for something it may not do."""

    code = "forbidden"


@dataclass(frozen=True)
class DirectoryIssue:
    """One problem in a directory file, located so that a person can find and fix it."""

    source: str
    """The file name, or ``<stdin>``."""
    line: int | None
    """1-based line of the offending value (or of its record) in the file."""
    record: int | None
    """1-based position of the agency in the file (CSV: data row, YAML: list item)."""
    agency: str | None
    """The agency code of the record, when it has one."""
    field: str | None
    """The field at fault, as spelled in the file."""
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.record is not None:
            subject = f"agency #{self.record}"
            if self.agency:
                subject += f" ({self.agency})"
            parts.append(subject)
        if self.field:
            parts.append(f"field {self.field!r}")
        return f"{', '.join(parts)}: {self.message}"


class DirectoryError(HubError):
    """Raised when a directory file cannot be imported; ``issues`` lists every problem found."""

    code = "directory.invalid"

    def __init__(self, message: str, issues: Sequence[DirectoryIssue] = ()) -> None:
        super().__init__(message)
        self.issues = tuple(issues)

    def as_dict(self) -> dict[str, object]:
        """The error with each issue as its own object."""
        return {
            **super().as_dict(),
            "issues": [
                {
                    "source": issue.source,
                    "line": issue.line,
                    "record": issue.record,
                    "agency": issue.agency,
                    "field": issue.field,
                    "message": issue.message,
                }
                for issue in self.issues
            ],
        }

    def __str__(self) -> str:
        if not self.issues:
            return self.message
        return "\n".join([self.message, *(f"  {issue}" for issue in self.issues)])


class StorageError(HubError):
    """Raised when the database or the payload store fails or holds something unexpected."""

    code = "storage.error"


class SchemaOutOfDateError(StorageError):
    """Raised when the database schema is not at the revision this version of the hub needs."""

    code = "storage.schema_out_of_date"


class DeliveryError(HubError):
    """Raised when one delivery attempt to a recipient fails."""

    code = "delivery.failed"


class TransientDeliveryError(DeliveryError):
    """Raised when a delivery failed for a reason that may pass (timeout, 5xx, broker down).

    ``delay`` is the wait in seconds the peer asked for (e.g. ``Retry-After``), or None to
    follow the configured retry schedule.
    """

    code = "delivery.transient"

    def __init__(
        self, message: str, *, delay: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.delay = delay


class PermanentDeliveryError(DeliveryError):
    """Raised when a delivery can never succeed as is (refused, unknown recipient, 4xx)."""

    code = "delivery.permanent"
