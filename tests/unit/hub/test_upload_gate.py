"""The upload gate: a cap per agency and one overall, each slot given back with its block."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from hub.api.uploads import UploadGate
from hub.errors import AgencyBusyError, HubBusyError


def test_an_agency_past_its_share_is_refused_with_a_retry_after() -> None:
    gate = UploadGate(total=10, per_agency=2)
    with ExitStack() as held:
        held.enter_context(gate.admit("A"))
        held.enter_context(gate.admit("A"))

        with pytest.raises(AgencyBusyError) as refused, gate.admit("A"):
            pass

    assert refused.value.retry_after > 0


def test_another_agency_is_admitted_while_one_holds_its_share() -> None:
    gate = UploadGate(total=10, per_agency=1)
    with gate.admit("A"), gate.admit("B"):
        assert gate.under_way == 2


def test_the_hub_past_its_total_refuses_every_agency() -> None:
    gate = UploadGate(total=2, per_agency=2)
    with gate.admit("A"), gate.admit("B"), pytest.raises(HubBusyError), gate.admit("C"):
        pass


def test_a_slot_is_given_back_when_its_block_fails() -> None:
    gate = UploadGate(total=1, per_agency=1)
    with pytest.raises(RuntimeError), gate.admit("A"):
        raise RuntimeError("the upload failed")

    with gate.admit("A"):
        assert gate.under_way == 1
