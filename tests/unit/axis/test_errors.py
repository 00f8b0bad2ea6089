"""The axis adapter's exception tree, and its translation into the hub's delivery errors."""

from __future__ import annotations

import pytest

from adapters.axis import (
    AxisAuthError,
    AxisBusyError,
    AxisError,
    AxisPermanentError,
    AxisProtocolError,
    AxisRefusedError,
    AxisTransientError,
    AxisUnavailableError,
    AxisUnknownFailureError,
)
from hub.axis.delivery_errors import delivery_errors, to_delivery_error
from hub.errors import PermanentDeliveryError, TransientDeliveryError

TRANSIENT = (AxisUnavailableError, AxisBusyError, AxisProtocolError)
PERMANENT = (AxisAuthError, AxisRefusedError)


@pytest.mark.parametrize("kind", TRANSIENT)
def test_transient_kinds_are_transient_only(kind: type[AxisError]) -> None:
    assert issubclass(kind, AxisTransientError)
    assert not issubclass(kind, AxisPermanentError)


@pytest.mark.parametrize("kind", PERMANENT)
def test_permanent_kinds_are_permanent_only(kind: type[AxisError]) -> None:
    assert issubclass(kind, AxisPermanentError)
    assert not issubclass(kind, AxisTransientError)


def test_an_error_reports_what_the_axis_said() -> None:
    error = AxisRefusedError(
        "refused", operation="sendEdoc", error_code="E1", error_desc="no", http_status=400
    )

    assert error.as_dict() == {
        "code": "axis.refused",
        "message": "refused",
        "operation": "sendEdoc",
        "error_code": "E1",
        "error_desc": "no",
        "http_status": 400,
    }


def test_a_transient_axis_error_becomes_a_transient_delivery_error_with_its_delay() -> None:
    error = AxisUnavailableError("down", operation="sendEdoc", delay=30.0, http_status=503)

    translated = to_delivery_error(error)

    assert isinstance(translated, TransientDeliveryError)
    assert (translated.delay, translated.code, translated.http_status) == (
        30.0,
        "axis.unavailable",
        503,
    )
    assert translated.message == "down"


def test_a_permanent_axis_error_becomes_a_permanent_delivery_error() -> None:
    translated = to_delivery_error(AxisAuthError("bad secret", operation="sendEdoc"))

    assert isinstance(translated, PermanentDeliveryError)
    assert translated.code == "axis.auth"


def test_an_unknown_axis_code_is_retried_and_kept_as_the_peer_code() -> None:
    error = AxisUnknownFailureError(
        "FAIL -1", operation="sendEdoc", error_code="-1", error_desc="loi", http_status=200
    )

    translated = to_delivery_error(error)

    assert isinstance(translated, TransientDeliveryError)
    assert (translated.code, translated.peer_code) == ("axis.unknown_failure", "-1")


def test_a_refusal_keeps_the_axis_code_as_the_peer_code() -> None:
    error = AxisRefusedError("no", operation="sendEdoc", error_code="UNKNOWN_RECIPIENT")

    assert to_delivery_error(error).peer_code == "UNKNOWN_RECIPIENT"


def test_the_translating_block_chains_the_axis_error() -> None:
    error = AxisBusyError("slow down", operation="getEdoc", delay=5.0)

    with pytest.raises(TransientDeliveryError) as caught, delivery_errors():
        raise error

    assert caught.value.__cause__ is error


def test_the_translating_block_lets_other_errors_through() -> None:
    with pytest.raises(KeyError), delivery_errors():
        raise KeyError("not an axis error")
