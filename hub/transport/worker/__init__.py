"""Delivery workers: take delivery messages, attempt them through their channel, record it all.

For each message of the work queue (:mod:`~hub.transport.worker.handling`):

1. read it (a message that breaks the contract, or names an unknown delivery, goes to the
   parking queue with the reason);
2. load the delivery (:mod:`~hub.transport.worker.records`); when it is no longer
   ``queued``/``retrying``, or has not had exactly one attempt fewer than the message is
   for, the message is a duplicate or stale: acknowledged and dropped. This is what makes
   redeliveries harmless: a delivered delivery is never delivered again because its message
   came twice;
3. attempt it (:mod:`~hub.transport.worker.attempts`): unless the peer's circuit breaker is
   open or its slots are taken, the channel handler runs on the consumer's helper thread, so
   the broker connection keeps its heartbeats meanwhile. A peer without a free slot puts the
   message back for a moment without an attempt (:mod:`~hub.transport.worker.deferral`);
4. decide (:mod:`~hub.transport.worker.settlement`): success → ``delivered`` (push channels)
   or ``available`` (inbox); a failure goes through the retry policy
   (:mod:`hub.transport.retries`) → ``retrying`` with the message sent to the retry tier
   that holds it for the wait, or ``parked``/``expired`` with the message sent to the parking
   queue with its error;
5. publish that message (confirmed), then commit the delivery's new state and the attempt row
   in one transaction (guarded: only if the delivery is still where step 2 found it), then
   acknowledge. A crash anywhere before the acknowledgement redelivers the message; step 2
   then drops it if the commit happened, or the attempt is made again if it did not.

A breaker-open skip is an attempt of the round like any other (outcome ``breaker-open``): a
delivery gets the same number of turns whatever its peer does, and is parked with the
breaker's error when they run out. A message handed out
:data:`~hub.transport.topology.POISON_REDELIVERIES` times (its attempts keep killing
workers) is parked without another try (:mod:`~hub.transport.worker.poison`).

Concurrency (:mod:`~hub.transport.worker.pool`): ``worker_threads`` consumers, each with its
own broker connection, prefetch and helper thread, so one slow or dead peer holds at most the
consumers attempting it, for at most the channel's timeouts, until its breaker opens.
"""

from hub.transport.worker.pool import Worker, WorkerOptions

__all__ = ["Worker", "WorkerOptions"]
