"""The exception tree of the hub.

Every error carries a stable ``code`` (for programs and API bodies) and a ``message`` written
for the person who has to fix the problem. Foreign exceptions (SQLAlchemy, pika, HTTP clients)
are translated into these at the boundary with ``raise ... from exc``.

    HubError                        base of everything the hub raises on purpose
    ├── ConfigurationError          a setting is missing or invalid
    ├── NotFoundError               a named agency, token or record does not exist
    │   └── PayloadPurgedError      the record exists but its bytes were removed by retention
    ├── ConflictError               the request contradicts what is already stored
    │   └── DuplicateDocumentError  another new document already has this sender and DocumentId
    ├── UnauthorizedError           credentials are missing, unknown or revoked
    ├── ForbiddenError              the caller is known but may not do this
    ├── InvalidRequestError         a request's arguments are missing or contradict each other
    │   ├── RequestTimeoutError     a request's body stopped arriving, or took too long
    │   ├── RequestTooLargeError    a request's body is larger than its endpoint reads
    │   └── ClientGoneError         the client went away before its request body arrived
    ├── BusyError                   too many uploads under way: try again after ``retry_after``
    │   ├── AgencyBusyError         the caller's agency has its share of uploads under way
    │   └── HubBusyError            the hub (this process) has all the uploads it takes
    ├── RejectedPacketError         ingest refuses a packet for what it is
    │   ├── OversizePacketError     the packet is larger than LIENTHONG_MAX_PACKET_BYTES
    │   ├── MalformedPacketError    unsafe, not XML, not edXML, or breaks a schema/routing rule
    │   └── UnroutablePacketError   a recipient is unknown to the directory or inactive
    ├── DirectoryError              a directory file cannot be imported (lists every issue)
    ├── StorageError                the database or the payload store failed
    │   └── SchemaOutOfDateError    the database schema is not at this version's revision
    ├── BrokerError                 the message broker failed or refused a message
    │   ├── BrokerUnavailableError  the broker cannot be reached, or the connection was lost
    │   ├── UnroutableError         a message published as mandatory matched no queue
    │   ├── TopologyError           a queue or exchange exists with other arguments
    │   └── MalformedMessageError   a message on a hub queue breaks the broker contract
    └── DeliveryError               a delivery attempt failed
        ├── TransientDeliveryError  worth retrying; carries the delay asked for, if any
        │   └── CircuitOpenError    not attempted: the peer's circuit breaker is open
        └── PermanentDeliveryError  retrying cannot help; the delivery is parked
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AgencyBusyError",
    "BrokerError",
    "BrokerUnavailableError",
    "BusyError",
    "CircuitOpenError",
    "ClientGoneError",
    "ConfigurationError",
    "ConflictError",
    "DeliveryError",
    "DirectoryError",
    "DirectoryIssue",
    "DuplicateDocumentError",
    "ForbiddenError",
    "HubBusyError",
    "HubError",
    "InvalidRequestError",
    "MalformedMessageError",
    "MalformedPacketError",
    "NotFoundError",
    "OversizePacketError",
    "PermanentDeliveryError",
    "RejectedPacketError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "SchemaOutOfDateError",
    "StorageError",
    "TransientDeliveryError",
    "UnauthorizedError",
    "UnroutablePacketError",
]


class HubError(Exception):
    """Raised for any failure the hub reports on purpose."""

    code = "hub.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, object] = dict(details or {})
        """Facts a program can act on (the codes at fault, the existing packet id, ...)."""

    def as_dict(self) -> dict[str, object]:
        """The error as the JSON object the API and the CLI report."""
        return {"code": self.code, "message": self.message, **self.details}

    def __str__(self) -> str:
        return self.message


class ConfigurationError(HubError):
    """Raised when a setting is missing or has an invalid value."""

    code = "config.invalid"


class NotFoundError(HubError):
    """Raised when a named agency, token or record does not exist."""

    code = "not_found"


class PayloadPurgedError(NotFoundError):
    """Raised when a packet's bytes were removed by retention (its record is kept)."""

    code = "packet.payload-purged"


class ConflictError(HubError):
    """Raised when a request contradicts what is already stored."""

    code = "conflict"


class DuplicateDocumentError(ConflictError):
    """Raised when a different new-document packet already has this sender and DocumentId.

    ``details`` names the ``document_id`` and the ``packet_id`` of the packet accepted first.
    """

    code = "packet.duplicate-document"


class UnauthorizedError(HubError):
    """Raised when credentials are missing, unknown, revoked or belong to an inactive agency."""

    code = "unauthorized"


class ForbiddenError(HubError):
    """Raised when an authenticated agency asks for something it may not do."""

    code = "forbidden"


class InvalidRequestError(HubError):
    """Raised when a request's arguments are missing or contradict each other."""

    code = "request.invalid"


class RequestTimeoutError(InvalidRequestError):
    """Raised when a request's body stops arriving for too long, or takes too long overall."""

    code = "request.timeout"


class RequestTooLargeError(InvalidRequestError):
    """Raised when a request's body (not a packet: those are ``OversizePacketError``) is
    larger than its endpoint reads."""

    code = "request.too-large"


class ClientGoneError(InvalidRequestError):
    """Raised when the client closes the connection before its request body has arrived."""

    code = "request.disconnected"


class BusyError(HubError):
    """Raised when an upload would go beyond the uploads the hub takes at once.

    ``retry_after`` is the wait in seconds the answer suggests (``Retry-After``).
    """

    code = "upload.busy"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class AgencyBusyError(BusyError):
    """Raised when the caller's agency already has its share of uploads under way."""

    code = "upload.agency-busy"


class HubBusyError(BusyError):
    """Raised when the hub (this API process) already has all the uploads it takes at once."""

    code = "upload.hub-busy"


class RejectedPacketError(HubError):
    """Raised when ingest refuses a packet for what it is (size, content, recipients).

    ``element`` and ``line`` locate the fault in the packet where one applies.
    """

    code = "packet.rejected"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        element: str | None = None,
        line: int | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.element = element
        self.line = line

    def as_dict(self) -> dict[str, object]:
        """The error with the element and line at fault (None where none applies)."""
        return {
            "code": self.code,
            "message": self.message,
            "element": self.element,
            "line": self.line,
            **self.details,
        }


class OversizePacketError(RejectedPacketError):
    """Raised when a packet is larger than ``LIENTHONG_MAX_PACKET_BYTES``."""

    code = "packet.too-large"


class MalformedPacketError(RejectedPacketError):
    """Raised when a packet is unsafe, not XML, not edXML, or breaks a schema or routing rule.

    ``code``, ``element`` and ``line`` are those of the first issue; ``details["issues"]``
    lists every issue found.
    """

    code = "packet.invalid"


class UnroutablePacketError(RejectedPacketError):
    """Raised when a recipient is not in the directory (and the axis route is off) or inactive.

    ``details["codes"]`` lists the recipient codes at fault.
    """

    code = "packet.unknown-recipient"


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
    subject: str = "agency"
    """What the file's records are: ``agency`` (a directory) or ``change`` (its changes)."""

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.record is not None:
            subject = f"{self.subject} #{self.record}"
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
                    "subject": issue.subject,
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


class BrokerError(HubError):
    """Raised when the message broker fails or refuses a message."""

    code = "broker.error"


class BrokerUnavailableError(BrokerError):
    """Raised when the broker cannot be reached or the connection to it was lost."""

    code = "broker.unavailable"


class UnroutableError(BrokerError):
    """Raised when a message published as mandatory matched no queue (it was returned)."""

    code = "broker.unroutable"


class TopologyError(BrokerError):
    """Raised when a queue or exchange already exists with other arguments than configured."""

    code = "broker.topology"


class MalformedMessageError(BrokerError):
    """Raised when a message taken from a hub queue does not follow the broker contract."""

    code = "broker.malformed_message"


class DeliveryError(HubError):
    """Raised when one delivery attempt to a recipient fails.

    ``http_status`` is the status the peer answered, when it answered over HTTP;
    ``peer_code`` the error code exactly as the peer wrote it (e.g. the axis's ``ErrorCode``),
    kept on the attempt's record while ``code`` stays the hub's own.
    """

    code = "delivery.failed"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        peer_code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status
        self.peer_code = peer_code


class TransientDeliveryError(DeliveryError):
    """Raised when a delivery failed for a reason that may pass (timeout, 5xx, broker down).

    ``delay`` is the wait in seconds the peer asked for (e.g. ``Retry-After``), or None to
    follow the configured retry schedule.
    """

    code = "delivery.transient"

    def __init__(
        self,
        message: str,
        *,
        delay: float | None = None,
        code: str | None = None,
        http_status: int | None = None,
        peer_code: str | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, peer_code=peer_code)
        self.delay = delay


class CircuitOpenError(TransientDeliveryError):
    """Raised instead of an attempt while the circuit breaker of the recipient's peer is open."""

    code = "delivery.circuit_open"


class PermanentDeliveryError(DeliveryError):
    """Raised when a delivery can never succeed as is (refused, unknown recipient, 4xx)."""

    code = "delivery.permanent"
