"""The business-state rules of receipts, as a table: state before, status received, outcome."""

from __future__ import annotations

import pytest

from hub.db.models import ChangeRequest, ChangeState
from hub.tracking.receipts import BusinessState, Effect, apply_status, request_change

NEW = BusinessState()
REVOKE_ASKED = BusinessState("03", ChangeRequest.REVOKE, ChangeState.REQUESTED)
UPDATE_ASKED = BusinessState("04", ChangeRequest.UPDATE, ChangeState.REQUESTED)
TAKE_BACK_ASKED = BusinessState("01", ChangeRequest.TAKE_BACK, ChangeState.REQUESTED)
UPDATE_AGREED = BusinessState("04", ChangeRequest.UPDATE, ChangeState.AGREED)

STATUS_TABLE = [
    pytest.param(NEW, "01", BusinessState("01"), Effect.ADVANCED, id="arrived"),
    pytest.param(BusinessState("01"), "03", BusinessState("03"), Effect.ADVANCED, id="accepted"),
    pytest.param(BusinessState("03"), "06", BusinessState("06"), Effect.ADVANCED, id="skip-ahead"),
    pytest.param(BusinessState("05"), "03", BusinessState("05"), Effect.UNCHANGED, id="late-lower"),
    pytest.param(BusinessState("05"), "05", BusinessState("05"), Effect.UNCHANGED, id="repeat"),
    pytest.param(BusinessState("01"), "02", BusinessState("02"), Effect.REFUSED, id="refused"),
    pytest.param(BusinessState("02"), "03", BusinessState("02"), Effect.UNCHANGED, id="02-final"),
    pytest.param(BusinessState("02"), "06", BusinessState("02"), Effect.UNCHANGED, id="02-final-6"),
    pytest.param(BusinessState("02"), "02", BusinessState("02"), Effect.UNCHANGED, id="02-repeat"),
    pytest.param(NEW, "09", NEW, Effect.UNCHANGED, id="unlisted-code"),
    pytest.param(
        REVOKE_ASKED,
        "03",
        BusinessState("03", ChangeRequest.REVOKE, ChangeState.AGREED),
        Effect.CHANGE_AGREED,
        id="revoke-agreed",
    ),
    pytest.param(
        REVOKE_ASKED,
        "02",
        BusinessState("03", ChangeRequest.REVOKE, ChangeState.REFUSED),
        Effect.CHANGE_REFUSED,
        id="revoke-refused-document-not-refused",
    ),
    pytest.param(
        REVOKE_ASKED, "15", REVOKE_ASKED, Effect.UNCHANGED, id="15-does-not-answer-a-revoke"
    ),
    pytest.param(
        UPDATE_ASKED,
        "15",
        BusinessState("04", ChangeRequest.UPDATE, ChangeState.AGREED),
        Effect.CHANGE_AGREED,
        id="update-agreed",
    ),
    pytest.param(
        UPDATE_ASKED,
        "16",
        BusinessState("04", ChangeRequest.UPDATE, ChangeState.REFUSED),
        Effect.CHANGE_REFUSED,
        id="update-refused",
    ),
    pytest.param(
        UPDATE_ASKED,
        "05",
        BusinessState("05", ChangeRequest.UPDATE, ChangeState.REQUESTED),
        Effect.ADVANCED,
        id="progress-while-update-pending",
    ),
    pytest.param(
        TAKE_BACK_ASKED,
        "15",
        BusinessState("01", ChangeRequest.TAKE_BACK, ChangeState.AGREED),
        Effect.CHANGE_AGREED,
        id="take-back-agreed",
    ),
    pytest.param(UPDATE_AGREED, "16", UPDATE_AGREED, Effect.UNCHANGED, id="first-answer-stands"),
    pytest.param(
        BusinessState("04"),
        "13",
        BusinessState("04", ChangeRequest.TAKE_BACK, ChangeState.REQUESTED),
        Effect.CHANGE_REQUESTED,
        id="take-back-asked",
    ),
    pytest.param(
        NEW,
        "15",
        BusinessState(None, None, ChangeState.AGREED),
        Effect.CHANGE_AGREED,
        id="answer-before-its-request",
    ),
]


@pytest.mark.parametrize(("before", "code", "after", "effect"), STATUS_TABLE)
def test_status_moves_the_business_state_by_the_table(
    before: BusinessState, code: str, after: BusinessState, effect: Effect
) -> None:
    transition = apply_status(before, code)

    assert (transition.state, transition.effect) == (after, effect)


CHANGE_TABLE = [
    pytest.param(
        BusinessState("03"),
        ChangeRequest.REVOKE,
        REVOKE_ASKED,
        Effect.CHANGE_REQUESTED,
        id="revoke-asked",
    ),
    pytest.param(
        REVOKE_ASKED, ChangeRequest.REVOKE, REVOKE_ASKED, Effect.UNCHANGED, id="asked-again"
    ),
    pytest.param(
        UPDATE_AGREED,
        ChangeRequest.UPDATE,
        UPDATE_ASKED,
        Effect.CHANGE_REQUESTED,
        id="new-update-after-an-answer",
    ),
    pytest.param(
        BusinessState(None, None, ChangeState.REFUSED),
        ChangeRequest.UPDATE,
        BusinessState(None, ChangeRequest.UPDATE, ChangeState.REFUSED),
        Effect.CHANGE_REQUESTED,
        id="request-joins-its-earlier-answer",
    ),
]


@pytest.mark.parametrize(("before", "kind", "after", "effect"), CHANGE_TABLE)
def test_change_request_moves_the_business_state_by_the_table(
    before: BusinessState, kind: ChangeRequest, after: BusinessState, effect: Effect
) -> None:
    transition = request_change(before, kind)

    assert (transition.state, transition.effect) == (after, effect)


def test_progression_only_moves_forward_whatever_the_order() -> None:
    state = BusinessState()
    for code in ("05", "01", "06", "03", "04"):
        state = apply_status(state, code).state

    assert state.status == "06"
