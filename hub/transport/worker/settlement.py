"""What a delivery becomes after an attempt: delivered, another try later, or parked.

Pure: the retry policy decides from the error, the round and the clock; the settlement
carries the message that takes the delivery on (to a retry tier, or to the parking queue).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hub.channels.base import DeliveryJob
from hub.db.models import DeliveryState
from hub.errors import PermanentDeliveryError
from hub.transport.messages import (
    ERROR_CODE_HEADER,
    ERROR_HEADER,
    STATE_HEADER,
    DeliveryMessage,
    OutgoingMessage,
    Round,
)
from hub.transport.retries import RetryPolicy, Verdict
from hub.transport.topology import Topology
from hub.transport.worker.outcome import Result, Settlement

__all__ = ["HEADER_ERROR_CHARS", "settle"]

HEADER_ERROR_CHARS = 1000
"""An error carried in a parked message's headers is cut to this length."""


def settle(
    job: DeliveryJob,
    round_: Round,
    result: Result,
    *,
    policy: RetryPolicy,
    topology: Topology,
    now: datetime,
    rng: random.Random,
) -> Settlement:
    """The settlement of ``result``: its handover's state, or the policy's verdict on its
    error with the retry or parking message."""
    if result.handover is not None:
        state = result.handover.state
        return Settlement(
            state=state,
            outcome=result.outcome,
            delivered_at=now if state is DeliveryState.DELIVERED else None,
        )
    error = result.error
    assert error is not None
    decision = policy.decide(
        error,
        round_attempt=round_.number,
        queued_at=round_.queued_at,
        now=now,
        rng=rng,
    )
    body = DeliveryMessage(
        delivery_id=job.delivery_id,
        packet_id=job.packet_id,
        recipient=job.recipient,
        channel=job.channel.value,
        blob=job.blob,
    ).encode()
    if decision.verdict is Verdict.RETRY:
        assert decision.wait is not None
        tier = topology.tier_for(decision.wait)
        return Settlement(
            state=DeliveryState.RETRYING,
            outcome=result.outcome,
            last_error=error.message,
            next_attempt_at=now + timedelta(seconds=decision.wait),
            wait=decision.wait,
            message=OutgoingMessage(
                exchange=topology.retry_exchange.name,
                routing_key=tier.routing_key,
                body=body,
                message_id=job.delivery_id,
                headers=round_.next().headers(),
                type="delivery",
                expiration_ms=max(0, round(decision.wait * 1000)),
            ),
        )
    state = DeliveryState.EXPIRED if decision.verdict is Verdict.EXPIRE else DeliveryState.PARKED
    last_error = error.message
    if not isinstance(error, PermanentDeliveryError):
        last_error = f"{decision.reason}; last error: {error.message}"
    return Settlement(
        state=state,
        outcome=result.outcome,
        last_error=last_error,
        message=OutgoingMessage(
            exchange=topology.parking_exchange.name,
            routing_key="",
            body=body,
            message_id=job.delivery_id,
            headers={
                **round_.headers(),
                STATE_HEADER: state.value,
                ERROR_HEADER: last_error[:HEADER_ERROR_CHARS],
                ERROR_CODE_HEADER: error.code,
            },
            type="delivery",
        ),
    )
