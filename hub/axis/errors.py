"""The exception tree of the national axis adapter.

Every error names the ``operation`` that failed and, when the axis answered, the
``error_code`` and ``error_desc`` it gave and the ``http_status``. Whether a retry can help is
the error's type, never its text; :mod:`hub.axis.delivery_errors` turns the two branches into
the hub's delivery errors. ``error_code`` is the code exactly as the axis answered it, for the
record of the attempt. Foreign exceptions (httpx) never leave the adapter: they become one
of these, chained with ``raise … from``.

    AxisError                    base of everything the axis adapter raises
    ├── AxisTransientError       retrying later may help; ``delay`` is the wait asked for
    │   ├── AxisUnavailableError no usable answer: connection refused or reset, timeout, 5xx
    │   ├── AxisBusyError        the node asked to slow down (429, or FAIL with a busy code)
    │   ├── AxisProtocolError    an answer that cannot be understood (not JSON, no DocId, …)
    │   └── AxisUnknownFailureError  FAIL with a code not known (yet) to mean a refusal
    └── AxisPermanentError       the same request will be refused again
        ├── AxisAuthError        unknown system, wrong signature, stale timestamp, 401/403
        └── AxisRefusedError     the node refused the request (FAIL with a refusal code, 4xx)
"""

from __future__ import annotations

__all__ = [
    "AxisAuthError",
    "AxisBusyError",
    "AxisError",
    "AxisPermanentError",
    "AxisProtocolError",
    "AxisRefusedError",
    "AxisTransientError",
    "AxisUnavailableError",
    "AxisUnknownFailureError",
]


class AxisError(Exception):
    """Raised for any failure of a call to the national axis."""

    code = "axis.error"

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        error_code: str | None = None,
        error_desc: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.error_code = error_code
        """The axis's ``ErrorCode``, when it answered with one."""
        self.error_desc = error_desc
        """The axis's ``ErrorDesc``, when it answered with one."""
        self.http_status = http_status

    def as_dict(self) -> dict[str, object]:
        """The error as a JSON object (for logs and the hub's error records)."""
        return {
            "code": self.code,
            "message": self.message,
            "operation": self.operation,
            "error_code": self.error_code,
            "error_desc": self.error_desc,
            "http_status": self.http_status,
        }

    def __str__(self) -> str:
        return self.message


class AxisTransientError(AxisError):
    """Raised when a call failed for a reason that may pass; ``delay`` is the wait asked for.

    ``delay`` is in seconds (from ``Retry-After``), or None to follow the caller's schedule.
    """

    code = "axis.transient"

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        delay: float | None = None,
        error_code: str | None = None,
        error_desc: str | None = None,
        http_status: int | None = None,
        may_have_arrived: bool = True,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            error_code=error_code,
            error_desc=error_desc,
            http_status=http_status,
        )
        self.delay = delay
        self.may_have_arrived = may_have_arrived
        """False when the request surely never reached the axis (so repeating it is safe)."""


class AxisUnavailableError(AxisTransientError):
    """Raised when the node cannot be reached, times out, or answers with a 5xx status."""

    code = "axis.unavailable"


class AxisBusyError(AxisTransientError):
    """Raised when the node asks the caller to slow down (429, or FAIL with a busy code)."""

    code = "axis.busy"


class AxisProtocolError(AxisTransientError):
    """Raised when an answer cannot be understood: not JSON, no DocId, bad base64 content."""

    code = "axis.protocol"


class AxisUnknownFailureError(AxisTransientError):
    """Raised when the axis answers FAIL with an error code whose meaning is not known.

    Only ``ErrorCode "0"`` is documented, so a code such as ``"-1"`` may as well be a passing
    fault or an authentication problem as a refusal of the packet: it is retried, and kept on
    ``error_code`` so that an operator can declare it a refusal
    (``ProtocolOptions.refusal_error_codes``) once its meaning is established.
    """

    code = "axis.unknown_failure"


class AxisPermanentError(AxisError):
    """Raised when the axis refused a request that will be refused again as it is."""

    code = "axis.permanent"


class AxisAuthError(AxisPermanentError):
    """Raised when the axis does not accept the system's credentials, signature or authority."""

    code = "axis.auth"


class AxisRefusedError(AxisPermanentError):
    """Raised when the axis refuses the request itself (unknown recipient, bad packet, 4xx)."""

    code = "axis.refused"
