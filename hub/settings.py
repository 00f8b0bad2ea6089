"""The hub's configuration: one frozen object read from ``LIENTHONG_*`` environment variables.

The settings come in groups (``settings.database.url``, ``settings.broker.url``, …), one typed
model per part of the hub; each field keeps the flat name of its variable as its alias
(``database_url`` ↔ ``LIENTHONG_DATABASE_URL``), and :class:`Settings` also takes those flat
names as keywords. Nothing is read at import time: the composition root calls
:func:`load_settings` once and hands the result to whatever it builds. Every field's
description is the operator documentation of its variable (``docs/configuration.md`` is
generated from them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from hub.errors import ConfigurationError

__all__ = [
    "ENV_PREFIX",
    "ApiSettings",
    "AxisSettings",
    "BrokerSettings",
    "ConsoleSettings",
    "DatabaseSettings",
    "EvidenceSettings",
    "HealthSettings",
    "IngestSettings",
    "LogSettings",
    "PeerSettings",
    "RelaySettings",
    "RetrySettings",
    "Settings",
    "StorageSettings",
    "VxpSettings",
    "WebhookSettings",
    "WorkerSettings",
    "load_settings",
]

ENV_PREFIX = "LIENTHONG_"

_DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 3 * 3600.0)


def _split(value: Any) -> Any:
    """A comma-separated variable as a list (other values unchanged)."""
    if not isinstance(value, str):
        return value
    return [part.strip() for part in value.split(",") if part.strip()]


def _json(value: Any) -> Any:
    """A JSON variable decoded (other values unchanged)."""
    return json.loads(value) if isinstance(value, str) else value


class _Group(BaseModel):
    """A group of settings: frozen; its fields are given by their variables' flat names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    title: ClassVar[str] = ""
    """The group's heading in the configuration reference."""


class StorageSettings(_Group):
    """Where the hub keeps local state and packet bytes."""

    title: ClassVar[str] = "Storage"

    data_dir: Path = Field(
        alias="data_dir",
        default=Path("var"),
        description=(
            "LIENTHONG_DATA_DIR: directory for the hub's local state (the default SQLite "
            "database and payload store live under it). Relative paths are resolved from the "
            "working directory. Default: var"
        ),
    )
    blob_dir: Path = Field(
        alias="blob_dir",
        default=Path(""),
        description=(
            "LIENTHONG_BLOB_DIR: directory of the content-addressed payload store (raw packet "
            "bytes named by their SHA-256), when LIENTHONG_PAYLOAD_STORE is 'files'. "
            "Default: <data_dir>/blobs"
        ),
    )
    payload_store: Literal["files", "database"] = Field(
        alias="payload_store",
        default="files",
        description=(
            "LIENTHONG_PAYLOAD_STORE: where packet bytes are kept: 'files' (the folder "
            "LIENTHONG_BLOB_DIR, local or mounted) or 'database' (chunked in the tracking "
            "database of LIENTHONG_DATABASE_URL, so every host of a cluster shares it without a "
            "shared filesystem; `lienthong payloads migrate` copies a folder store into it). "
            "Default: files"
        ),
    )


class DatabaseSettings(_Group):
    """The tracking database."""

    title: ClassVar[str] = "Database"

    url: str = Field(
        alias="database_url",
        default="",
        description=(
            "LIENTHONG_DATABASE_URL: SQLAlchemy URL of the tracking database, e.g. "
            "sqlite:///var/lienthong.db or postgresql+psycopg://user@host:5432/lienthong "
            "(postgresql:// is read as postgresql+psycopg://). "
            "Default: sqlite:///<data_dir>/lienthong.db"
        ),
    )
    pool_size: int = Field(
        alias="database_pool_size",
        default=16,
        ge=1,
        le=200,
        description=(
            "LIENTHONG_DATABASE_POOL_SIZE: PostgreSQL connections each hub process keeps open. "
            "Size it to the process's concurrency (LIENTHONG_API_THREADS, "
            "LIENTHONG_WORKER_THREADS): a connection opened beyond it is closed after use, and "
            "opening one costs the server a new backend. Default: 16"
        ),
    )
    max_overflow: int = Field(
        alias="database_max_overflow",
        default=16,
        ge=0,
        le=200,
        description=(
            "LIENTHONG_DATABASE_MAX_OVERFLOW: extra PostgreSQL connections a process may open "
            "for a burst, closed when returned. Default: 16"
        ),
    )
    ping_after_idle: float = Field(
        alias="database_ping_after_idle",
        default=1.0,
        ge=0,
        le=3600,
        description=(
            "LIENTHONG_DATABASE_PING_AFTER_IDLE: seconds a pooled PostgreSQL connection may "
            "have been idle and still be used without first checking it is alive; one idle "
            "longer is pinged, and replaced if the server dropped it. A connection lost while "
            "busy fails its statement, and the whole pool is renewed. 0 pings at every use. "
            "Default: 1"
        ),
    )
    auto_migrate: Literal["sqlite", "always", "never"] = Field(
        alias="auto_migrate",
        default="sqlite",
        description=(
            "LIENTHONG_AUTO_MIGRATE: when commands bring an out-of-date database schema up to "
            "date by themselves: 'sqlite' (only an embedded SQLite database; a shared server "
            "database waits for `lienthong db upgrade`), 'always' or 'never'. Default: sqlite"
        ),
    )


class BrokerSettings(_Group):
    """RabbitMQ: where it is and how the hub names and uses its queues."""

    title: ClassVar[str] = "Broker (RabbitMQ)"

    url: str = Field(
        alias="amqp_url",
        default="amqp://guest:guest@127.0.0.1:5672/%2F",
        description=(
            "LIENTHONG_AMQP_URL: RabbitMQ connection URL (amqp:// or amqps://, pika "
            "URLParameters form), or one URL per node of a cluster separated by commas: every "
            "process connects to the first node that answers and, when it loses it, tries the "
            "others in turn. Default: amqp://guest:guest@127.0.0.1:5672/%2F"
        ),
    )
    prefix: str = Field(
        alias="amqp_prefix",
        default="lienthong",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description=(
            "LIENTHONG_AMQP_PREFIX: first part of the name of every exchange and queue the hub "
            "declares, so several hubs (or test runs) can share one broker. Default: lienthong"
        ),
    )
    heartbeat: int = Field(
        alias="amqp_heartbeat",
        default=60,
        ge=0,
        description=(
            "LIENTHONG_AMQP_HEARTBEAT: AMQP heartbeat timeout in seconds asked of the broker; "
            "0 turns heartbeats off. Default: 60"
        ),
    )
    reconnect_timeout: float = Field(
        alias="amqp_reconnect_timeout",
        default=120.0,
        gt=0,
        description=(
            "LIENTHONG_AMQP_RECONNECT_TIMEOUT: how long, in seconds, a process keeps trying to "
            "(re)connect to the broker, with growing pauses, before it gives up and exits "
            "with an error. Default: 120"
        ),
    )
    connect_timeout: float = Field(
        alias="amqp_connect_timeout",
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_AMQP_CONNECT_TIMEOUT: seconds a process waits for one broker node to "
            "accept a connection before it tries the next node of LIENTHONG_AMQP_URL. "
            "Default: 5"
        ),
    )
    quorum_replicas: int = Field(
        alias="amqp_quorum_replicas",
        default=0,
        ge=0,
        description=(
            "LIENTHONG_AMQP_QUORUM_REPLICAS: replicas of each quorum queue the hub declares "
            "(x-quorum-initial-group-size); 0 leaves the number to the broker, which places "
            "one on each node of the cluster (up to three unless the broker is configured "
            "otherwise). It is one of the queues' arguments: RabbitMQ refuses to change it on "
            "existing queues (the hub stops with broker.topology), so set it before the first "
            "start, or move replicas with rabbitmq-queues grow/shrink. Default: 0"
        ),
    )
    parking_max_length: int = Field(
        alias="parking_max_length",
        default=100_000,
        ge=1,
        description=(
            "LIENTHONG_PARKING_MAX_LENGTH: messages the parking queue keeps for inspection; the "
            "oldest are dropped beyond it (the database keeps every parked delivery). "
            "Default: 100000"
        ),
    )

    @field_validator("url")
    @classmethod
    def _node_urls(cls, value: str) -> str:
        urls = [part.strip() for part in value.split(",")]
        for number, url in enumerate(urls, start=1):
            where = f"URL {number} of {len(urls)}" if len(urls) > 1 else "the URL"
            if not url:
                raise ValueError(f"{where} is empty; separate the nodes' URLs by single commas")
            if any(character.isspace() for character in url):
                raise ValueError(
                    f"{where} holds a space; separate the nodes' URLs by commas, not spaces"
                )
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018 - reading it checks it
            except ValueError as exc:
                raise ValueError(f"{where} cannot be read: {exc}") from None
            if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
                raise ValueError(f"{where} is not an amqp:// or amqps:// URL with a host")
        return ",".join(urls)

    @property
    def urls(self) -> tuple[str, ...]:
        """The URL of each node, in the order they are tried."""
        return tuple(self.url.split(","))


class ApiSettings(_Group):
    """The HTTP API (and the console it serves): address, TLS, and what one request may hold."""

    title: ClassVar[str] = "HTTP API, TLS and request limits"

    host: str = Field(
        alias="host",
        default="127.0.0.1",
        description=(
            "LIENTHONG_HOST: address the HTTP API listens on; put a TLS-terminating proxy in "
            "front of it. Default: 127.0.0.1"
        ),
    )
    port: int = Field(
        alias="port",
        default=8080,
        ge=1,
        le=65535,
        description="LIENTHONG_PORT: TCP port of the HTTP API and web console. Default: 8080",
    )
    threads: int = Field(
        alias="api_threads",
        default=4,
        ge=1,
        le=200,
        description=(
            "LIENTHONG_API_THREADS: threads of one API process for the work that blocks "
            "(ingesting a packet, reading the database); requests beyond wait their turn. "
            "Python runs one thread at a time, so more threads than the CPUs and the database "
            "can keep busy only add switching: on 2 CPUs, 16 threads cost the API about a tenth "
            "more CPU per packet than 3 did. Default: 4"
        ),
    )
    tls_cert_file: Path | None = Field(
        alias="tls_cert_file",
        default=None,
        description=(
            "LIENTHONG_TLS_CERT_FILE: PEM certificate (chain) the API serves HTTPS with, "
            "instead of plain HTTP behind a TLS-terminating proxy; needs "
            "LIENTHONG_TLS_KEY_FILE. Default: none (plain HTTP)"
        ),
    )
    tls_key_file: Path | None = Field(
        alias="tls_key_file",
        default=None,
        description=(
            "LIENTHONG_TLS_KEY_FILE: PEM private key of LIENTHONG_TLS_CERT_FILE. Default: none"
        ),
    )
    token_cache_seconds: float = Field(
        alias="token_cache_seconds",
        default=5.0,
        ge=0,
        le=300,
        description=(
            "LIENTHONG_TOKEN_CACHE_SECONDS: how long an API process keeps a bearer token it "
            "accepted, so that an agency's requests do not each cost a database lookup; a "
            "revoked token or a deactivated agency stops working within this time (at once in "
            "the process that revoked it). 0 looks every token up. Default: 5"
        ),
    )
    tls_client_ca_file: Path | None = Field(
        alias="tls_client_ca_file",
        default=None,
        description=(
            "LIENTHONG_TLS_CLIENT_CA_FILE: PEM certificates of the authorities whose client "
            "certificates the API requires (mutual TLS): a connection without one, or with "
            "one they did not issue, is refused in the handshake; bearer tokens still name "
            "the caller. Needs LIENTHONG_TLS_CERT_FILE. Default: none (no client certificate)"
        ),
    )

    trusted_proxies: str = Field(
        alias="trusted_proxies",
        default="127.0.0.1",
        description=(
            "LIENTHONG_TRUSTED_PROXIES: addresses (comma-separated; networks allowed; '*' for "
            "any) of the proxies whose X-Forwarded-For and X-Forwarded-Proto headers the API "
            "believes: behind them the client's address is the forwarded one. The console's "
            "sign-in throttle counts failures per client address, so a proxy that is not "
            "listed makes all its clients one. Default: 127.0.0.1"
        ),
    )
    header_timeout: float = Field(
        alias="header_timeout",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_HEADER_TIMEOUT: seconds a client has to send a request's headers, "
            "from its connection (or the request's first byte on a kept-alive connection); "
            "a connection still sending them is closed. Default: 30"
        ),
    )
    body_idle_timeout: float = Field(
        alias="body_idle_timeout",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_BODY_IDLE_TIMEOUT: seconds the API waits for the next piece of a "
            "request body; a body that stops arriving is answered 408 request.timeout and "
            "its connection closed. Default: 30"
        ),
    )
    body_timeout: float = Field(
        alias="body_timeout",
        default=600.0,
        gt=0,
        description=(
            "LIENTHONG_BODY_TIMEOUT: seconds a whole request body may take to arrive (a "
            "50 MiB packet at 1 Mbit/s takes about 7 minutes); answered 408 request.timeout "
            "beyond. Default: 600"
        ),
    )
    max_uploads: int = Field(
        alias="max_uploads",
        default=16,
        ge=1,
        description=(
            "LIENTHONG_MAX_UPLOADS: packets (agency API and VXP sendEdoc) one API process "
            "reads and ingests at once; one more is answered 503 upload.hub-busy with "
            "Retry-After. With LIENTHONG_MAX_PACKET_BYTES it bounds the memory uploads can "
            "take (ingest runs on LIENTHONG_DATABASE_POOL_SIZE threads anyway). Default: 16"
        ),
    )
    max_uploads_per_agency: int = Field(
        alias="max_uploads_per_agency",
        default=4,
        ge=1,
        description=(
            "LIENTHONG_MAX_UPLOADS_PER_AGENCY: packets one agency may have under way at once "
            "on one API process; one more is answered 429 upload.agency-busy with "
            "Retry-After. Default: 4"
        ),
    )

    @model_validator(mode="after")
    def _tls_files_together(self) -> ApiSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "LIENTHONG_TLS_CERT_FILE and LIENTHONG_TLS_KEY_FILE are set together or not at all"
            )
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError(
                "LIENTHONG_TLS_CLIENT_CA_FILE needs LIENTHONG_TLS_CERT_FILE and "
                "LIENTHONG_TLS_KEY_FILE: client certificates are checked in the API's own TLS"
            )
        return self

    @property
    def scheme(self) -> str:
        """``https`` when the API serves TLS itself, else ``http``."""
        return "https" if self.tls_cert_file is not None else "http"


class IngestSettings(_Group):
    """What ingest accepts, and what signatures are judged against."""

    title: ClassVar[str] = "Ingest and signatures"

    max_packet_bytes: int = Field(
        alias="max_packet_bytes",
        default=50 * 1024 * 1024,
        gt=0,
        description=(
            "LIENTHONG_MAX_PACKET_BYTES: largest edXML packet accepted, in bytes; larger "
            "uploads are refused before parsing. Default: 52428800 (50 MiB)"
        ),
    )
    axis_route: bool = Field(
        alias="axis_route",
        default=False,
        description=(
            "LIENTHONG_AXIS_ROUTE: send packets for recipient codes the directory does not "
            "hold to the national axis (a delivery on channel 'axis') instead of refusing "
            "them with 422 packet.unknown-recipient. Off by default: outside agencies are "
            "listed in the directory with channel 'axis', so a mistyped code is reported to "
            "the sender at once. Default: false"
        ),
    )
    trust_anchors: tuple[Path, ...] = Field(
        alias="trust_anchors",
        default=(),
        description=(
            "LIENTHONG_TRUST_ANCHORS: PEM or DER certificate files (comma-separated) that "
            "packet signatures are checked against; the outcome is recorded with each packet, "
            "never fatal. Default: none (signatures are verified, trust is not judged)"
        ),
    )
    crls: tuple[Path, ...] = Field(
        alias="crls",
        default=(),
        description=(
            "LIENTHONG_CRLS: PEM or DER certificate revocation lists (comma-separated) of the "
            "authorities under LIENTHONG_TRUST_ANCHORS: a packet signed with a revoked "
            "certificate, or judged against an out-of-date list, is recorded as not trusted. "
            "Replaced files are read again within a minute. Default: none (revocation is "
            "not checked)"
        ),
    )
    pdf_trust_roots: tuple[Path, ...] = Field(
        alias="pdf_trust_roots",
        default=(),
        description=(
            "LIENTHONG_PDF_TRUST_ROOTS: PEM or DER certificates of the certificate authorities "
            "whose PDF signatures count as trusted (comma-separated). Every document's PDF "
            "attachments are inspected on ingest either way; without roots, trust is "
            "'unknown'. Default: none"
        ),
    )

    @field_validator("trust_anchors", "pdf_trust_roots", "crls", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        return _split(value)


class RelaySettings(_Group):
    """The outbox relay."""

    title: ClassVar[str] = "Outbox relay"

    batch_size: int = Field(
        alias="relay_batch_size",
        default=200,
        ge=1,
        description=(
            "LIENTHONG_RELAY_BATCH_SIZE: outbox rows a relay takes (and locks) per round. "
            "Default: 200"
        ),
    )
    window: int = Field(
        alias="relay_window",
        default=100,
        ge=1,
        description=(
            "LIENTHONG_RELAY_WINDOW: most messages a relay has published and not yet seen "
            "confirmed by the broker. Default: 100"
        ),
    )
    confirm_timeout: float = Field(
        alias="relay_confirm_timeout",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_RELAY_CONFIRM_TIMEOUT: seconds a relay waits for the broker to confirm "
            "a round before it drops the connection and publishes the rest again later. "
            "Default: 30"
        ),
    )
    idle_seconds: float = Field(
        alias="relay_idle_seconds",
        default=0.5,
        gt=0,
        description=(
            "LIENTHONG_RELAY_IDLE_SECONDS: pause of a relay that found nothing to publish. "
            "Default: 0.5"
        ),
    )


class WorkerSettings(_Group):
    """Delivery workers."""

    title: ClassVar[str] = "Delivery workers"

    threads: int = Field(
        alias="worker_threads",
        default=4,
        ge=1,
        description=(
            "LIENTHONG_WORKER_THREADS: deliveries one `lienthong worker` process attempts at "
            "once (one broker connection each). Default: 4"
        ),
    )
    prefetch: int = Field(
        alias="worker_prefetch",
        default=1,
        ge=1,
        description=(
            "LIENTHONG_WORKER_PREFETCH: messages the broker hands each worker thread ahead of "
            "the one it is delivering; 1 keeps every waiting message free for another thread. "
            "Default: 1"
        ),
    )
    attempt_timeout: float = Field(
        alias="delivery_attempt_timeout",
        default=300.0,
        gt=0,
        description=(
            "LIENTHONG_DELIVERY_ATTEMPT_TIMEOUT: longest a worker waits for one attempt of any "
            "channel before it counts the attempt as failed (retried). Default: 300"
        ),
    )


class RetrySettings(_Group):
    """The retry schedule of failed deliveries."""

    title: ClassVar[str] = "Retries"

    delays: tuple[float, ...] = Field(
        alias="retry_delays",
        default=_DEFAULT_RETRY_DELAYS,
        min_length=1,
        description=(
            "LIENTHONG_RETRY_DELAYS: seconds to wait before each retry of a failed delivery, "
            "comma-separated or a JSON list; a delivery is attempted at most once more than "
            "there are delays, then parked. Jitter is added on top. "
            "Default: 5,30,120,600,1800,3600,10800"
        ),
    )
    jitter: float = Field(
        alias="retry_jitter",
        default=0.2,
        ge=0,
        le=1,
        description=(
            "LIENTHONG_RETRY_JITTER: random extra wait added to each retry delay, as a fraction "
            "of it (0.2: a 30 s delay becomes 30 to 36 s). Default: 0.2"
        ),
    )
    max_age: timedelta = Field(
        alias="max_delivery_age",
        default=timedelta(days=3),
        description=(
            "LIENTHONG_MAX_DELIVERY_AGE: age after which an undelivered delivery is given up as "
            "expired even if retries remain; seconds or ISO 8601 duration (P3D). "
            "Default: 259200 (3 days)"
        ),
    )

    @field_validator("delays", mode="before")
    @classmethod
    def _split_delays(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        return _split(value)

    @field_validator("delays")
    @classmethod
    def _positive_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("retry delays must not be negative")
        return value

    @property
    def max_attempts(self) -> int:
        """Attempts before a delivery is parked: the first one plus one per retry delay."""
        return len(self.delays) + 1


class PeerSettings(_Group):
    """Each peer's circuit breaker and its share of the workers."""

    title: ClassVar[str] = "Peers: circuit breakers and slots"

    breaker_threshold: int = Field(
        alias="breaker_threshold",
        default=5,
        ge=1,
        description=(
            "LIENTHONG_BREAKER_THRESHOLD: consecutive failed attempts to one peer (webhook "
            "host) that open its circuit: its deliveries are then not attempted but sent to "
            "their next retry until a probe succeeds. Default: 5"
        ),
    )
    breaker_cooldown: float = Field(
        alias="breaker_cooldown",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_BREAKER_COOLDOWN: seconds an opened circuit waits before one probe "
            "attempt; doubled after each failed probe. Default: 30"
        ),
    )
    breaker_max_cooldown: float = Field(
        alias="breaker_max_cooldown",
        default=600.0,
        gt=0,
        description=(
            "LIENTHONG_BREAKER_MAX_COOLDOWN: longest wait between probes of a dead peer, in "
            "seconds. Default: 600"
        ),
    )
    max_in_flight: int = Field(
        alias="peer_max_in_flight",
        default=2,
        ge=1,
        le=1000,
        description=(
            "LIENTHONG_PEER_MAX_IN_FLIGHT: attempts one worker process makes to one recipient "
            "agency at the same time; further deliveries to it wait a moment "
            "(LIENTHONG_PEER_BUSY_WAIT) without using up an attempt, so a peer that accepts "
            "connections and never answers holds only this many threads. Default: 2"
        ),
    )
    busy_wait: float = Field(
        alias="peer_busy_wait",
        default=1.0,
        gt=0,
        le=3600,
        description=(
            "LIENTHONG_PEER_BUSY_WAIT: seconds a delivery waits when its recipient has no free "
            "slot (LIENTHONG_PEER_MAX_IN_FLIGHT). Default: 1"
        ),
    )
    suspect_share: float = Field(
        alias="peer_suspect_share",
        default=0.5,
        gt=0,
        le=1,
        description=(
            "LIENTHONG_PEER_SUSPECT_SHARE: share of a worker process's threads (at least one) "
            "that attempts to suspect recipients (the last attempt failed, no answer since) "
            "may hold at once; every other recipient always finds the rest, so several "
            "failing or hanging recipients cannot take every thread. Further deliveries to "
            "suspects wait LIENTHONG_PEER_BUSY_WAIT, doubled with each wait in a row, without "
            "using an attempt. Default: 0.5"
        ),
    )

    @field_validator("breaker_max_cooldown")
    @classmethod
    def _not_below_cooldown(cls, value: float, info: ValidationInfo) -> float:
        cooldown = info.data.get("breaker_cooldown")
        if isinstance(cooldown, float) and value < cooldown:
            raise ValueError(f"must not be shorter than LIENTHONG_BREAKER_COOLDOWN ({cooldown})")
        return value


class WebhookSettings(_Group):
    """The hub's pushes: webhooks and peer hubs."""

    title: ClassVar[str] = "Webhooks and peer hubs"

    connect_timeout: float = Field(
        alias="webhook_connect_timeout",
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT: seconds to open a connection to an agency's "
            "webhook. Default: 5"
        ),
    )
    read_timeout: float = Field(
        alias="webhook_read_timeout",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_WEBHOOK_READ_TIMEOUT: seconds a webhook may stay silent while the hub "
            "sends the packet or waits for the answer. Default: 30"
        ),
    )
    ca_file: Path | None = Field(
        alias="webhook_ca_file",
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CA_FILE: PEM certificates of the authorities whose server "
            "certificates agencies' https webhooks and peer hubs may present, instead of the "
            "system's (e.g. a government CA). Default: the system's"
        ),
    )
    client_cert_file: Path | None = Field(
        alias="webhook_client_cert_file",
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE: PEM certificate (chain) the hub presents to "
            "agencies' webhooks and peer hubs that require client certificates (mutual TLS); "
            "needs LIENTHONG_WEBHOOK_CLIENT_KEY_FILE. Default: none"
        ),
    )
    client_key_file: Path | None = Field(
        alias="webhook_client_key_file",
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CLIENT_KEY_FILE: PEM private key of "
            "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE. Default: none"
        ),
    )
    max_connections: int = Field(
        alias="webhook_max_connections",
        default=20,
        ge=1,
        description=(
            "LIENTHONG_WEBHOOK_MAX_CONNECTIONS: open HTTP connections a worker process keeps "
            "to webhooks, all hosts together. Default: 20"
        ),
    )

    @model_validator(mode="after")
    def _client_files_together(self) -> WebhookSettings:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError(
                "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE and LIENTHONG_WEBHOOK_CLIENT_KEY_FILE are set "
                "together or not at all"
            )
        return self


class AxisSettings(_Group):
    """The national axis (VXP) upstream."""

    title: ClassVar[str] = "National axis"

    kind: Literal["vxp"] = Field(
        alias="upstream_kind",
        default="vxp",
        description=(
            "LIENTHONG_UPSTREAM_KIND: which kind of upstream LIENTHONG_AXIS_URL points at: "
            "'vxp' (the national document interchange axis). Default: vxp"
        ),
    )
    url: str = Field(
        alias="axis_url",
        default="",
        description=(
            "LIENTHONG_AXIS_URL: base URL of the national axis node (https://host[:port][/path]); "
            "empty = no axis: deliveries on channel 'axis' wait and are parked with "
            "delivery.no_adapter, and nothing is polled. Default: empty"
        ),
    )
    system_id: str = Field(
        alias="axis_system_id",
        default="",
        validate_default=True,
        description=(
            "LIENTHONG_AXIS_SYSTEM_ID: the hub's system id at the axis node (required with "
            "LIENTHONG_AXIS_URL). Default: empty"
        ),
    )
    secret: SecretStr = Field(
        alias="axis_secret",
        default=SecretStr(""),
        validate_default=True,
        description=(
            "LIENTHONG_AXIS_SECRET: the secret of that system, signing every call (required "
            "with LIENTHONG_AXIS_URL; never logged). Default: empty"
        ),
    )
    organ_id: str = Field(
        alias="axis_organ_id",
        default="",
        description=(
            "LIENTHONG_AXIS_ORGAN_ID: the city's root agency code (e.g. 000.00.00.H26): the "
            "axis 'from' of calls that name no sender, and the province whose codes "
            "`lienthong directory sync-axis` leaves to the local directory. Default: empty"
        ),
    )
    poll_edoc_seconds: float = Field(
        alias="axis_poll_edoc_seconds",
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_POLL_EDOC_SECONDS: pause between two polls of the axis for "
            "document packets (30 s to 15 min are seen in the field). Default: 60"
        ),
    )
    poll_status_seconds: float = Field(
        alias="axis_poll_status_seconds",
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_POLL_STATUS_SECONDS: pause between two polls of the axis for "
            "status packets. Default: 60"
        ),
    )
    connect_timeout: float = Field(
        alias="axis_connect_timeout",
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_CONNECT_TIMEOUT: seconds to open a connection to the axis node. "
            "Default: 5"
        ),
    )
    read_timeout: float = Field(
        alias="axis_read_timeout",
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_READ_TIMEOUT: seconds the axis node may stay silent while a packet "
            "is sent or an answer awaited (packets of tens of MB are normal). Default: 60"
        ),
    )
    http_attempts: int = Field(
        alias="axis_http_attempts",
        default=3,
        ge=1,
        le=10,
        description=(
            "LIENTHONG_AXIS_HTTP_ATTEMPTS: tries of one request inside one call when the node "
            "is unreachable or answers 5xx (a sendEdoc only when the packet surely did not "
            "arrive); longer waits are left to the retry schedule. Default: 3"
        ),
    )
    verify_tls: bool = Field(
        alias="axis_verify_tls",
        default=True,
        description=(
            "LIENTHONG_AXIS_VERIFY_TLS: check the axis node's TLS certificate. Default: true"
        ),
    )
    ca_bundle: Path | None = Field(
        alias="axis_ca_bundle",
        default=None,
        description=(
            "LIENTHONG_AXIS_CA_BUNDLE: PEM file of the certificate authorities to trust for "
            "the axis node instead of the system's. Default: the system's"
        ),
    )
    protocol: dict[str, Any] = Field(
        alias="axis_protocol",
        default_factory=dict,
        description=(
            "LIENTHONG_AXIS_PROTOCOL: JSON object of overrides of the wire choices "
            "(adapters.axis.ProtocolOptions: paths, header_prefix, service_type, "
            "timestamp_style, error codes...). Default: {}"
        ),
    )

    @field_validator("protocol", mode="before")
    @classmethod
    def _decode_protocol(cls, value: Any) -> Any:
        return _json(value)

    @field_validator("system_id", "secret")
    @classmethod
    def _axis_account(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if str(info.data.get("url") or "").strip() and not text.strip():
            raise ValueError("required when LIENTHONG_AXIS_URL is set")
        return value

    @property
    def configured(self) -> bool:
        """Whether the hub has an axis upstream (``LIENTHONG_AXIS_URL`` is set)."""
        return bool(self.url.strip())


class VxpSettings(_Group):
    """The hub's VXP endpoint, where agency systems built on the axis's SDK connect."""

    title: ClassVar[str] = "VXP endpoint for agencies"

    keys: SecretStr = Field(
        alias="vxp_keys",
        default=SecretStr(""),
        description=(
            "LIENTHONG_VXP_KEYS: Fernet keys (URL-safe base64 of 32 random bytes, "
            "comma-separated) that encrypt the VXP systems' HMAC secrets in the database; the "
            "first encrypts, each one decrypts, so a key is rotated by putting a new one first "
            "and running `lienthong agency vxp-rekey`. `lienthong agency vxp-key` prints a new "
            "key. Without one, no VXP secret can be issued and the VXP endpoint (/vxp/) "
            "refuses every call. Never logged. Default: none"
        ),
    )
    max_clock_skew: float | None = Field(
        alias="vxp_max_clock_skew",
        default=None,
        gt=0,
        description=(
            "LIENTHONG_VXP_MAX_CLOCK_SKEW: refuse VXP calls whose signed timestamp is further "
            "than this many seconds from the hub's clock. Off by default: the official SDK "
            "writes its timestamp once and sends it for the life of the process. Default: none"
        ),
    )
    list_limit: int = Field(
        alias="vxp_list_limit",
        default=500,
        ge=1,
        le=10_000,
        description=(
            "LIENTHONG_VXP_LIST_LIMIT: most items one getReceivedEdocList or getSentEdocList "
            "answer carries (oldest waiting first; newest sent first). Default: 500"
        ),
    )
    sent_days: float = Field(
        alias="vxp_sent_days",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_VXP_SENT_DAYS: how many days back getSentEdocList reports what a "
            "system sent. Default: 30"
        ),
    )

    @field_validator("keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        for position, key in enumerate(_split(value.get_secret_value()), start=1):
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    f"key {position} is not a Fernet key (URL-safe base64 of 32 bytes; "
                    "`lienthong agency vxp-key` prints one)"
                ) from None
        return value

    @property
    def key_list(self) -> list[str]:
        """The keys, the one that encrypts first."""
        keys: list[str] = _split(self.keys.get_secret_value())
        return keys


class ConsoleSettings(_Group):
    """The city office's monitoring console."""

    title: ClassVar[str] = "Console"

    enabled: bool = Field(
        alias="console_enabled",
        default=True,
        description=(
            "LIENTHONG_CONSOLE_ENABLED: serve the city office's monitoring console under "
            "/console/ beside the API (sign in with users from `lienthong user add`). "
            "Default: true"
        ),
    )
    session_idle_minutes: float = Field(
        alias="console_session_idle_minutes",
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_CONSOLE_SESSION_IDLE_MINUTES: a console session unused for this long "
            "expires and its user signs in again. Default: 30"
        ),
    )
    session_max_hours: float = Field(
        alias="console_session_max_hours",
        default=12.0,
        gt=0,
        description=(
            "LIENTHONG_CONSOLE_SESSION_MAX_HOURS: longest life of a console session, however "
            "busy. Default: 12"
        ),
    )
    secure_cookies: bool = Field(
        alias="console_secure_cookies",
        default=False,
        description=(
            "LIENTHONG_CONSOLE_SECURE_COOKIES: mark the console's cookies Secure (sent over "
            "HTTPS only); set it when the TLS proxy in front serves the console. Default: false"
        ),
    )
    targets: dict[str, dict[int, float]] = Field(
        alias="console_targets",
        default_factory=lambda: {
            "completed": {2: 100.0, 3: 80.0, 4: 70.0},
            "signed": {2: 100.0, 3: 100.0, 4: 100.0},
        },
        description=(
            "LIENTHONG_CONSOLE_TARGETS: JSON of the targets the console sets the per-level "
            "shares against, in percent, by metric (acknowledged, accepted, completed, signed, "
            'delivered) and level, e.g. {"completed": {"2": 100, "3": 80, "4": 70}}. '
            "Default: completed 100/80/70 % for levels 2/3/4 (plan 222/KH-UBND: departments, "
            "district units, communes) and signed 100 % (plan 201/KH-UBND)"
        ),
    )
    flag_below: float = Field(
        alias="console_flag_below",
        default=20.0,
        ge=0,
        le=100,
        description=(
            "LIENTHONG_CONSOLE_FLAG_BELOW: the agencies page flags units whose digitally "
            "signed share is below this percentage (the Đống Đa letter of 2024 names units "
            "under 20 %). Default: 20"
        ),
    )
    unacked_hours: tuple[float, ...] = Field(
        alias="console_unacked_hours",
        default=(4.0, 24.0, 72.0),
        min_length=1,
        description=(
            "LIENTHONG_CONSOLE_UNACKED_HOURS: ageing buckets of the unacknowledged page, in "
            "hours since delivery, comma-separated and increasing. Default: 4,24,72"
        ),
    )
    stats_seconds: float = Field(
        alias="console_stats_seconds",
        default=120.0,
        ge=0,
        description=(
            "LIENTHONG_CONSOLE_STATS_SECONDS: how long a console process reuses the statistics "
            "it computed (overview, agencies, unacknowledged, peers) before refreshing them in "
            "the background while still serving them; 0 computes them on every request. "
            "Documents, failures and the audit log are always read live. Default: 120"
        ),
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _decode_targets(cls, value: Any) -> Any:
        return _json(value)

    @field_validator("unacked_hours", mode="before")
    @classmethod
    def _split_hours(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("unacked_hours")
    @classmethod
    def _increasing_hours(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(hours <= 0 for hours in value) or list(value) != sorted(set(value)):
            raise ValueError("ageing buckets must be positive and increasing, e.g. 4,24,72")
        return value


class EvidenceSettings(_Group):
    """Evidence of sending and delivery: the hub's signing key and its checkpoints."""

    title: ClassVar[str] = "Evidence of sending and delivery"

    key_file: Path | None = Field(
        alias="evidence_key_file",
        default=None,
        description=(
            "LIENTHONG_EVIDENCE_KEY_FILE: PEM private key (RSA, unencrypted) the hub signs "
            "evidence checkpoints and receipts with; needs LIENTHONG_EVIDENCE_CERT_FILE. "
            "Evidence is recorded without it, but cannot be checkpointed or exported. "
            "`lienthong evidence keygen` makes a self-signed pair. Default: none"
        ),
    )
    cert_file: Path | None = Field(
        alias="evidence_cert_file",
        default=None,
        description=(
            "LIENTHONG_EVIDENCE_CERT_FILE: PEM certificate of LIENTHONG_EVIDENCE_KEY_FILE, "
            "embedded in every receipt; agencies verify receipts offline against it. "
            "Default: none"
        ),
    )
    checkpoint_seconds: float = Field(
        alias="evidence_checkpoint_seconds",
        default=60.0,
        ge=0,
        description=(
            "LIENTHONG_EVIDENCE_CHECKPOINT_SECONDS: how often `lienthong run` seals the new "
            "evidence records into the chain and signs a checkpoint (when a key is set); 0 "
            "leaves checkpoints to `lienthong evidence checkpoint` (cron, or --every). "
            "Default: 60"
        ),
    )

    @model_validator(mode="after")
    def _key_and_certificate_together(self) -> EvidenceSettings:
        if (self.key_file is None) != (self.cert_file is None):
            raise ValueError(
                "LIENTHONG_EVIDENCE_KEY_FILE and LIENTHONG_EVIDENCE_CERT_FILE are set together "
                "or not at all"
            )
        return self

    @property
    def signing(self) -> bool:
        """Whether a signing key is configured."""
        return self.key_file is not None


class LogSettings(_Group):
    """Structured logs."""

    title: ClassVar[str] = "Logs"

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        alias="log_level",
        default="INFO",
        description="LIENTHONG_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR. Default: INFO",
    )
    format: Literal["auto", "json", "console"] = Field(
        alias="log_format",
        default="auto",
        description=(
            "LIENTHONG_LOG_FORMAT: 'json' (one object per line, for production), 'console' "
            "(coloured, for people) or 'auto' (console on a terminal, JSON otherwise). "
            "Default: auto"
        ),
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class HealthSettings(_Group):
    """How a process tells a supervisor that it is ready."""

    title: ClassVar[str] = "Health checks"

    file: Path | None = Field(
        alias="health_file",
        default=None,
        description=(
            "LIENTHONG_HEALTH_FILE: file the process touches after each passing readiness "
            "check (the database answers; a worker's consumers are all connected to the "
            "broker and consuming, a relay's publishing connection is open, the API reaches a "
            "broker node) and removes "
            "when one fails or the process stops; a supervisor checks its age, e.g. "
            "`find FILE -mmin -0.5`. Under systemd (NOTIFY_SOCKET) the same checks also send "
            "READY=1 and WATCHDOG=1. Default: none"
        ),
    )
    interval: float = Field(
        alias="health_interval",
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_HEALTH_INTERVAL: seconds between two readiness checks of a process. "
            "Default: 5"
        ),
    )


_GROUPS: dict[str, type[_Group]] = {
    "storage": StorageSettings,
    "database": DatabaseSettings,
    "broker": BrokerSettings,
    "api": ApiSettings,
    "ingest": IngestSettings,
    "relay": RelaySettings,
    "worker": WorkerSettings,
    "retries": RetrySettings,
    "peers": PeerSettings,
    "webhook": WebhookSettings,
    "axis": AxisSettings,
    "vxp": VxpSettings,
    "console": ConsoleSettings,
    "evidence": EvidenceSettings,
    "logging": LogSettings,
    "health": HealthSettings,
}


def _variables(group: type[_Group]) -> Iterator[tuple[str, FieldInfo]]:
    for info in group.model_fields.values():
        assert info.alias is not None
        yield info.alias, info


def _environment() -> dict[str, str]:
    """The ``LIENTHONG_*`` variables by flat name (names are case-insensitive)."""
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in os.environ.items()
        if key.upper().startswith(ENV_PREFIX)
    }


class Settings(BaseModel):
    """Every setting of the hub, in groups; immutable once loaded.

    ``Settings(**flat)`` reads the environment and lets the keywords (flat names such as
    ``database_url``) take precedence.
    """

    model_config = ConfigDict(frozen=True)

    storage: StorageSettings
    database: DatabaseSettings
    broker: BrokerSettings
    api: ApiSettings
    ingest: IngestSettings
    relay: RelaySettings
    worker: WorkerSettings
    retries: RetrySettings
    peers: PeerSettings
    webhook: WebhookSettings
    axis: AxisSettings
    vxp: VxpSettings
    console: ConsoleSettings
    evidence: EvidenceSettings
    logging: LogSettings
    health: HealthSettings

    @model_validator(mode="before")
    @classmethod
    def _from_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, dict) or (data and set(data) <= set(_GROUPS)):
            return data
        flat: dict[str, Any] = {**_environment(), **{key.lower(): v for key, v in data.items()}}
        data_dir = Path(str(flat.get("data_dir") or "var"))
        if not flat.get("database_url"):
            flat["database_url"] = f"sqlite:///{(data_dir / 'lienthong.db').as_posix()}"
        if not flat.get("blob_dir"):
            flat["blob_dir"] = data_dir / "blobs"
        return {
            name: {alias: flat[alias] for alias, _ in _variables(group) if alias in flat}
            for name, group in _GROUPS.items()
        }

    @model_validator(mode="after")
    def _database_store_on_a_server(self) -> Settings:
        if self.storage.payload_store == "database" and self.database.url.startswith("sqlite"):
            raise ValueError(
                "LIENTHONG_PAYLOAD_STORE=database needs a PostgreSQL LIENTHONG_DATABASE_URL: it "
                "is the store hosts share; a hub on SQLite runs on one machine and keeps the "
                "folder store"
            )
        return self

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name (``database_url``…), as :class:`Settings` takes them."""
        values: dict[str, Any] = {}
        for name in _GROUPS:
            group: _Group = getattr(self, name)
            values.update(group.model_dump(by_alias=True))
        return values

    def replace(self, **changes: Any) -> Settings:
        """These settings with some changed (flat names), checked again."""
        return Settings(**{**self.flat(), **changes})

    @classmethod
    def variables(cls) -> Iterator[tuple[str, str, FieldInfo]]:
        """Every variable: its group, its full name (``LIENTHONG_…``) and its field."""
        for name, group in _GROUPS.items():
            for alias, info in _variables(group):
                yield name, f"{ENV_PREFIX}{alias.upper()}", info


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; keyword arguments (flat names) take precedence.

    Raises:
        ConfigurationError: a variable is missing a valid value; the message names it.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {_problems(exc)}") from exc


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        group = _GROUPS.get(loc[0]) if loc else None
        if group is not None and len(loc) > 1:
            field = group.model_fields.get(loc[1])
            name = field.alias if field is not None and field.alias else loc[1]
            problems.append(f"{ENV_PREFIX}{name.upper()}: {error['msg']}")
        else:
            problems.append(message)
    return "; ".join(problems)
