"""Payload stores: where packet bytes live (the contract is :mod:`hub.payloads`)."""
