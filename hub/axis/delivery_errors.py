"""The axis adapter's errors as the hub's delivery errors: the one place they meet.

The hub retries :class:`~hub.errors.TransientDeliveryError` on its schedule (honouring
``delay``) and parks on :class:`~hub.errors.PermanentDeliveryError`; the axis adapter's two
branches map onto them one to one, keeping the adapter's code, HTTP status and delay, and the
axis's own ``ErrorCode`` as the ``peer_code`` the attempt's record keeps (an unknown code such
as ``"-1"`` is retried, and stays visible until its meaning is known).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.axis.errors import AxisError, AxisTransientError
from hub.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

__all__ = ["delivery_errors", "to_delivery_error"]


def to_delivery_error(error: AxisError) -> DeliveryError:
    """The hub's delivery error for an axis error (transient stays transient)."""
    if isinstance(error, AxisTransientError):
        return TransientDeliveryError(
            str(error),
            delay=error.delay,
            code=error.code,
            http_status=error.http_status,
            peer_code=error.error_code,
        )
    return PermanentDeliveryError(
        str(error), code=error.code, http_status=error.http_status, peer_code=error.error_code
    )


@contextmanager
def delivery_errors() -> Iterator[None]:
    """Re-raise any axis error raised in the block as the hub's delivery error (chained)."""
    try:
        yield
    except AxisError as exc:
        raise to_delivery_error(exc) from exc
