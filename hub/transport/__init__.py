"""The delivery pipeline: outbox wake-up, relay, broker topology and messages, workers,
retries, circuit breakers and replay."""
