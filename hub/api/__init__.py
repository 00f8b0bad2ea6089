"""The hub's HTTP API: agencies post and fetch packets, parties follow documents, operators
replay; plus health, readiness and Prometheus metrics. Built by :func:`create_app`."""

from hub.api.app import create_app
from hub.api.context import ApiContext, ReadinessCheck

__all__ = ["ApiContext", "ReadinessCheck", "create_app"]
