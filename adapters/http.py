"""The hub's HTTP client for pushes (webhooks, peer hubs): pooled, TLS as configured."""

from __future__ import annotations

import ssl

import httpx

__all__ = ["make_http_client"]


def make_http_client(
    *,
    connect_timeout: float,
    read_timeout: float,
    max_connections: int,
    tls: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The pooled HTTP client a worker process shares between its threads; ``tls`` (the
    authorities to trust, the hub's client certificate) replaces the system's defaults."""
    return httpx.Client(
        verify=tls if tls is not None else True,
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        headers={"User-Agent": "lienthong-hub"},
    )
