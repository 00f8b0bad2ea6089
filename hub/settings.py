"""The hub's configuration: one frozen object read from ``LIENTHONG_*`` environment variables.

Nothing is read at import time: the composition root calls :func:`load_settings` once and hands
the result to whatever it builds. Every field's description is the operator documentation of
its variable.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub.errors import ConfigurationError

__all__ = ["ENV_PREFIX", "Settings", "load_settings"]

ENV_PREFIX = "LIENTHONG_"

_DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 3 * 3600.0)


class Settings(BaseSettings):
    """Every setting of the hub; immutable once loaded."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="ignore",
        case_sensitive=False,
    )

    data_dir: Path = Field(
        default=Path("var"),
        description=(
            "LIENTHONG_DATA_DIR: directory for the hub's local state (the default SQLite "
            "database and payload store live under it). Relative paths are resolved from the "
            "working directory. Default: var"
        ),
    )
    database_url: str = Field(
        default="",
        description=(
            "LIENTHONG_DATABASE_URL: SQLAlchemy URL of the tracking database, e.g. "
            "sqlite:///var/lienthong.db or postgresql+psycopg://user@host:5432/lienthong "
            "(postgresql:// is read as postgresql+psycopg://). "
            "Default: sqlite:///<data_dir>/lienthong.db"
        ),
    )
    database_pool_size: int = Field(
        default=16,
        ge=1,
        le=200,
        description=(
            "LIENTHONG_DATABASE_POOL_SIZE: PostgreSQL connections each hub process keeps open, "
            "and the API's number of request threads. Size it to the process's concurrency "
            "(worker threads too): a connection opened beyond it is closed after use, and "
            "opening one costs the server a new backend. Default: 16"
        ),
    )
    database_max_overflow: int = Field(
        default=16,
        ge=0,
        le=200,
        description=(
            "LIENTHONG_DATABASE_MAX_OVERFLOW: extra PostgreSQL connections a process may open "
            "for a burst, closed when returned. Default: 16"
        ),
    )
    blob_dir: Path = Field(
        default=Path(""),
        description=(
            "LIENTHONG_BLOB_DIR: directory of the content-addressed payload store (raw packet "
            "bytes named by their SHA-256). Default: <data_dir>/blobs"
        ),
    )
    auto_migrate: Literal["sqlite", "always", "never"] = Field(
        default="sqlite",
        description=(
            "LIENTHONG_AUTO_MIGRATE: when commands bring an out-of-date database schema up to "
            "date by themselves: 'sqlite' (only an embedded SQLite database; a shared server "
            "database waits for `lienthong db upgrade`), 'always' or 'never'. Default: sqlite"
        ),
    )
    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/%2F",
        description=(
            "LIENTHONG_AMQP_URL: RabbitMQ connection URL (pika URLParameters form). "
            "Default: amqp://guest:guest@127.0.0.1:5672/%2F"
        ),
    )
    host: str = Field(
        default="127.0.0.1",
        description=(
            "LIENTHONG_HOST: address the HTTP API listens on; put a TLS-terminating proxy in "
            "front of it. Default: 127.0.0.1"
        ),
    )
    port: int = Field(
        default=8080,
        ge=1,
        le=65535,
        description="LIENTHONG_PORT: TCP port of the HTTP API and web console. Default: 8080",
    )
    tls_cert_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_TLS_CERT_FILE: PEM certificate (chain) the API serves HTTPS with, "
            "instead of plain HTTP behind a TLS-terminating proxy; needs "
            "LIENTHONG_TLS_KEY_FILE. Default: none (plain HTTP)"
        ),
    )
    tls_key_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_TLS_KEY_FILE: PEM private key of LIENTHONG_TLS_CERT_FILE. Default: none"
        ),
    )
    tls_client_ca_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_TLS_CLIENT_CA_FILE: PEM certificates of the authorities whose client "
            "certificates the API requires (mutual TLS): a connection without one, or with "
            "one they did not issue, is refused in the handshake; bearer tokens still name "
            "the caller. Needs LIENTHONG_TLS_CERT_FILE. Default: none (no client certificate)"
        ),
    )
    max_packet_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description=(
            "LIENTHONG_MAX_PACKET_BYTES: largest edXML packet accepted, in bytes; larger "
            "uploads are refused before parsing. Default: 52428800 (50 MiB)"
        ),
    )
    retry_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        default=_DEFAULT_RETRY_DELAYS,
        min_length=1,
        description=(
            "LIENTHONG_RETRY_DELAYS: seconds to wait before each retry of a failed delivery, "
            "comma-separated or a JSON list; a delivery is attempted at most once more than "
            "there are delays, then parked. Jitter is added on top. "
            "Default: 5,30,120,600,1800,3600,10800"
        ),
    )
    max_delivery_age: timedelta = Field(
        default=timedelta(days=3),
        description=(
            "LIENTHONG_MAX_DELIVERY_AGE: age after which an undelivered message is parked even "
            "if retries remain; seconds or ISO 8601 duration (P3D). Default: 259200 (3 days)"
        ),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="LIENTHONG_LOG_LEVEL: DEBUG, INFO, WARNING or ERROR. Default: INFO",
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description=(
            "LIENTHONG_LOG_FORMAT: 'json' (one object per line, for production), 'console' "
            "(coloured, for people) or 'auto' (console on a terminal, JSON otherwise). "
            "Default: auto"
        ),
    )

    # -- ingest and the agency API ------------------------------------------------------
    axis_route: bool = Field(
        default=False,
        description=(
            "LIENTHONG_AXIS_ROUTE: send packets for recipient codes the directory does not "
            "hold to the national axis (a delivery on channel 'axis') instead of refusing "
            "them with 422 packet.unknown-recipient. Off by default: outside agencies are "
            "listed in the directory with channel 'axis', so a mistyped code is reported to "
            "the sender at once. Default: false"
        ),
    )
    trust_anchors: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description=(
            "LIENTHONG_TRUST_ANCHORS: PEM or DER certificate files (comma-separated) that "
            "packet signatures are checked against; the outcome is recorded with each packet, "
            "never fatal. Default: none (signatures are verified, trust is not judged)"
        ),
    )

    crls: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description=(
            "LIENTHONG_CRLS: PEM or DER certificate revocation lists (comma-separated) of the "
            "authorities under LIENTHONG_TRUST_ANCHORS: a packet signed with a revoked "
            "certificate, or judged against an out-of-date list, is recorded as not trusted. "
            "Replaced files are read again within a minute. Default: none (revocation is "
            "not checked)"
        ),
    )

    pdf_trust_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description=(
            "LIENTHONG_PDF_TRUST_ROOTS: PEM or DER certificates of the certificate authorities "
            "whose PDF signatures count as trusted (comma-separated). Every document's PDF "
            "attachments are inspected on ingest either way; without roots, trust is "
            "'unknown'. Default: none"
        ),
    )

    # -- delivery: broker, relay, workers, channels -------------------------------------
    amqp_prefix: str = Field(
        default="lienthong",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description=(
            "LIENTHONG_AMQP_PREFIX: first part of the name of every exchange and queue the hub "
            "declares, so several hubs (or test runs) can share one broker. Default: lienthong"
        ),
    )
    amqp_heartbeat: int = Field(
        default=60,
        ge=0,
        description=(
            "LIENTHONG_AMQP_HEARTBEAT: AMQP heartbeat timeout in seconds asked of the broker; "
            "0 turns heartbeats off. Default: 60"
        ),
    )
    amqp_reconnect_timeout: float = Field(
        default=120.0,
        gt=0,
        description=(
            "LIENTHONG_AMQP_RECONNECT_TIMEOUT: how long, in seconds, a process keeps trying to "
            "(re)connect to the broker, with growing pauses, before it gives up and exits "
            "with an error. Default: 120"
        ),
    )
    relay_batch_size: int = Field(
        default=200,
        ge=1,
        description=(
            "LIENTHONG_RELAY_BATCH_SIZE: outbox rows a relay takes (and locks) per round. "
            "Default: 200"
        ),
    )
    relay_window: int = Field(
        default=100,
        ge=1,
        description=(
            "LIENTHONG_RELAY_WINDOW: most messages a relay has published and not yet seen "
            "confirmed by the broker. Default: 100"
        ),
    )
    relay_confirm_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_RELAY_CONFIRM_TIMEOUT: seconds a relay waits for the broker to confirm "
            "a round before it drops the connection and publishes the rest again later. "
            "Default: 30"
        ),
    )
    relay_idle_seconds: float = Field(
        default=0.5,
        gt=0,
        description=(
            "LIENTHONG_RELAY_IDLE_SECONDS: pause of a relay that found nothing to publish. "
            "Default: 0.5"
        ),
    )
    worker_threads: int = Field(
        default=4,
        ge=1,
        description=(
            "LIENTHONG_WORKER_THREADS: deliveries one `lienthong worker` process attempts at "
            "once (one broker connection each). Default: 4"
        ),
    )
    worker_prefetch: int = Field(
        default=1,
        ge=1,
        description=(
            "LIENTHONG_WORKER_PREFETCH: messages the broker hands each worker thread ahead of "
            "the one it is delivering; 1 keeps every waiting message free for another thread. "
            "Default: 1"
        ),
    )
    delivery_attempt_timeout: float = Field(
        default=300.0,
        gt=0,
        description=(
            "LIENTHONG_DELIVERY_ATTEMPT_TIMEOUT: longest a worker waits for one attempt of any "
            "channel before it counts the attempt as failed (retried). Default: 300"
        ),
    )
    retry_jitter: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description=(
            "LIENTHONG_RETRY_JITTER: random extra wait added to each retry delay, as a fraction "
            "of it (0.2: a 30 s delay becomes 30 to 36 s). Default: 0.2"
        ),
    )
    breaker_threshold: int = Field(
        default=5,
        ge=1,
        description=(
            "LIENTHONG_BREAKER_THRESHOLD: consecutive failed attempts to one peer (webhook "
            "host) that open its circuit: its deliveries are then not attempted but sent to "
            "their next retry until a probe succeeds. Default: 5"
        ),
    )
    breaker_cooldown: float = Field(
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_BREAKER_COOLDOWN: seconds an opened circuit waits before one probe "
            "attempt; doubled after each failed probe. Default: 30"
        ),
    )
    breaker_max_cooldown: float = Field(
        default=600.0,
        gt=0,
        description=(
            "LIENTHONG_BREAKER_MAX_COOLDOWN: longest wait between probes of a dead peer, in "
            "seconds. Default: 600"
        ),
    )
    peer_max_in_flight: int = Field(
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
    peer_busy_wait: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description=(
            "LIENTHONG_PEER_BUSY_WAIT: seconds a delivery waits when its recipient has no free "
            "slot (LIENTHONG_PEER_MAX_IN_FLIGHT). Default: 1"
        ),
    )
    peer_suspect_share: float = Field(
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
    webhook_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_WEBHOOK_CONNECT_TIMEOUT: seconds to open a connection to an agency's "
            "webhook. Default: 5"
        ),
    )
    webhook_read_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_WEBHOOK_READ_TIMEOUT: seconds a webhook may stay silent while the hub "
            "sends the packet or waits for the answer. Default: 30"
        ),
    )
    webhook_ca_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CA_FILE: PEM certificates of the authorities whose server "
            "certificates agencies' https webhooks and peer hubs may present, instead of the "
            "system's (e.g. a government CA). Default: the system's"
        ),
    )
    webhook_client_cert_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE: PEM certificate (chain) the hub presents to "
            "agencies' webhooks and peer hubs that require client certificates (mutual TLS); "
            "needs LIENTHONG_WEBHOOK_CLIENT_KEY_FILE. Default: none"
        ),
    )
    webhook_client_key_file: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_WEBHOOK_CLIENT_KEY_FILE: PEM private key of "
            "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE. Default: none"
        ),
    )
    webhook_max_connections: int = Field(
        default=20,
        ge=1,
        description=(
            "LIENTHONG_WEBHOOK_MAX_CONNECTIONS: open HTTP connections a worker process keeps "
            "to webhooks, all hosts together. Default: 20"
        ),
    )
    parking_max_length: int = Field(
        default=100_000,
        ge=1,
        description=(
            "LIENTHONG_PARKING_MAX_LENGTH: messages the parking queue keeps for inspection; the "
            "oldest are dropped beyond it (the database keeps every parked delivery). "
            "Default: 100000"
        ),
    )

    # -- the national axis (upstream) --------------------------------------------------
    upstream_kind: Literal["vxp"] = Field(
        default="vxp",
        description=(
            "LIENTHONG_UPSTREAM_KIND: which kind of upstream LIENTHONG_AXIS_URL points at: "
            "'vxp' (the national document interchange axis). Default: vxp"
        ),
    )
    axis_url: str = Field(
        default="",
        description=(
            "LIENTHONG_AXIS_URL: base URL of the national axis node (https://host[:port][/path]); "
            "empty = no axis: deliveries on channel 'axis' wait and are parked with "
            "delivery.no_adapter, and nothing is polled. Default: empty"
        ),
    )
    axis_system_id: str = Field(
        default="",
        validate_default=True,
        description=(
            "LIENTHONG_AXIS_SYSTEM_ID: the hub's system id at the axis node (required with "
            "LIENTHONG_AXIS_URL). Default: empty"
        ),
    )
    axis_secret: SecretStr = Field(
        default=SecretStr(""),
        validate_default=True,
        description=(
            "LIENTHONG_AXIS_SECRET: the secret of that system, signing every call (required "
            "with LIENTHONG_AXIS_URL; never logged). Default: empty"
        ),
    )
    axis_organ_id: str = Field(
        default="",
        description=(
            "LIENTHONG_AXIS_ORGAN_ID: the city's root agency code (e.g. 000.00.00.H26): the "
            "axis 'from' of calls that name no sender, and the province whose codes "
            "`lienthong directory sync-axis` leaves to the local directory. Default: empty"
        ),
    )
    axis_poll_edoc_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_POLL_EDOC_SECONDS: pause between two polls of the axis for "
            "document packets (30 s to 15 min are seen in the field). Default: 60"
        ),
    )
    axis_poll_status_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_POLL_STATUS_SECONDS: pause between two polls of the axis for "
            "status packets. Default: 60"
        ),
    )
    axis_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_CONNECT_TIMEOUT: seconds to open a connection to the axis node. "
            "Default: 5"
        ),
    )
    axis_read_timeout: float = Field(
        default=60.0,
        gt=0,
        description=(
            "LIENTHONG_AXIS_READ_TIMEOUT: seconds the axis node may stay silent while a packet "
            "is sent or an answer awaited (packets of tens of MB are normal). Default: 60"
        ),
    )
    axis_http_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description=(
            "LIENTHONG_AXIS_HTTP_ATTEMPTS: tries of one request inside one call when the node "
            "is unreachable or answers 5xx (a sendEdoc only when the packet surely did not "
            "arrive); longer waits are left to the retry schedule. Default: 3"
        ),
    )
    axis_verify_tls: bool = Field(
        default=True,
        description=(
            "LIENTHONG_AXIS_VERIFY_TLS: check the axis node's TLS certificate. Default: true"
        ),
    )
    axis_ca_bundle: Path | None = Field(
        default=None,
        description=(
            "LIENTHONG_AXIS_CA_BUNDLE: PEM file of the certificate authorities to trust for "
            "the axis node instead of the system's. Default: the system's"
        ),
    )
    axis_protocol: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "LIENTHONG_AXIS_PROTOCOL: JSON object of overrides of the wire choices "
            "(adapters.axis.ProtocolOptions: paths, header_prefix, service_type, "
            "timestamp_style, error codes...). Default: {}"
        ),
    )

    # -- the monitoring console (web UI under /console/) ---------------------------------
    console_enabled: bool = Field(
        default=True,
        description=(
            "LIENTHONG_CONSOLE_ENABLED: serve the city office's monitoring console under "
            "/console/ beside the API (sign in with users from `lienthong user add`). "
            "Default: true"
        ),
    )
    console_session_idle_minutes: float = Field(
        default=30.0,
        gt=0,
        description=(
            "LIENTHONG_CONSOLE_SESSION_IDLE_MINUTES: a console session unused for this long "
            "expires and its user signs in again. Default: 30"
        ),
    )
    console_session_max_hours: float = Field(
        default=12.0,
        gt=0,
        description=(
            "LIENTHONG_CONSOLE_SESSION_MAX_HOURS: longest life of a console session, however "
            "busy. Default: 12"
        ),
    )
    console_secure_cookies: bool = Field(
        default=False,
        description=(
            "LIENTHONG_CONSOLE_SECURE_COOKIES: mark the console's cookies Secure (sent over "
            "HTTPS only); set it when the TLS proxy in front serves the console. Default: false"
        ),
    )
    console_targets: dict[str, dict[int, float]] = Field(
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
    console_flag_below: float = Field(
        default=20.0,
        ge=0,
        le=100,
        description=(
            "LIENTHONG_CONSOLE_FLAG_BELOW: the agencies page flags units whose digitally "
            "signed share is below this percentage (the Đống Đa letter of 2024 names units "
            "under 20 %). Default: 20"
        ),
    )
    console_unacked_hours: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(4.0, 24.0, 72.0),
        min_length=1,
        description=(
            "LIENTHONG_CONSOLE_UNACKED_HOURS: ageing buckets of the unacknowledged page, in "
            "hours since delivery, comma-separated and increasing. Default: 4,24,72"
        ),
    )
    console_stats_seconds: float = Field(
        default=120.0,
        ge=0,
        description=(
            "LIENTHONG_CONSOLE_STATS_SECONDS: how long a console process reuses the statistics "
            "it computed (overview, agencies, unacknowledged, peers) before refreshing them in "
            "the background while still serving them; 0 computes them on every request. "
            "Documents, failures and the audit log are always read live. Default: 120"
        ),
    )

    @field_validator("console_unacked_hours", mode="before")
    @classmethod
    def _split_hours(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("console_unacked_hours")
    @classmethod
    def _increasing_hours(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(hours <= 0 for hours in value) or list(value) != sorted(set(value)):
            raise ValueError("ageing buckets must be positive and increasing, e.g. 4,24,72")
        return value

    @field_validator("trust_anchors", "pdf_trust_roots", "crls", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("retry_delays", mode="before")
    @classmethod
    def _split_delays(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("retry_delays")
    @classmethod
    def _positive_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("retry delays must not be negative")
        return value

    @field_validator("breaker_max_cooldown")
    @classmethod
    def _not_below_cooldown(cls, value: float, info: ValidationInfo) -> float:
        cooldown = info.data.get("breaker_cooldown")
        if isinstance(cooldown, float) and value < cooldown:
            raise ValueError(f"must not be shorter than LIENTHONG_BREAKER_COOLDOWN ({cooldown})")
        return value

    @field_validator("axis_system_id", "axis_secret")
    @classmethod
    def _axis_account(cls, value: str | SecretStr, info: ValidationInfo) -> str | SecretStr:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if str(info.data.get("axis_url") or "").strip() and not text.strip():
            raise ValueError("required when LIENTHONG_AXIS_URL is set")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_paths(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data_dir = Path(str(data.get("data_dir") or "var"))
        if not data.get("database_url"):
            data["database_url"] = f"sqlite:///{(data_dir / 'lienthong.db').as_posix()}"
        if not data.get("blob_dir"):
            data["blob_dir"] = data_dir / "blobs"
        return data

    @model_validator(mode="after")
    def _tls_files_together(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "LIENTHONG_TLS_CERT_FILE and LIENTHONG_TLS_KEY_FILE are set together or not at all"
            )
        if (self.webhook_client_cert_file is None) != (self.webhook_client_key_file is None):
            raise ValueError(
                "LIENTHONG_WEBHOOK_CLIENT_CERT_FILE and LIENTHONG_WEBHOOK_CLIENT_KEY_FILE are set "
                "together or not at all"
            )
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError(
                "LIENTHONG_TLS_CLIENT_CA_FILE needs LIENTHONG_TLS_CERT_FILE and "
                "LIENTHONG_TLS_KEY_FILE: client certificates are checked in the API's own TLS"
            )
        return self

    @property
    def api_scheme(self) -> str:
        """``https`` when the API serves TLS itself, else ``http``."""
        return "https" if self.tls_cert_file is not None else "http"

    @property
    def axis_configured(self) -> bool:
        """Whether the hub has an axis upstream (``LIENTHONG_AXIS_URL`` is set)."""
        return bool(self.axis_url.strip())

    @property
    def max_delivery_attempts(self) -> int:
        """Attempts before a delivery is parked: the first one plus one per retry delay."""
        return len(self.retry_delays) + 1


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; keyword arguments take precedence.

    Raises:
        ConfigurationError: a variable is missing a valid value; the message names it.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            if error["loc"]
            else str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from exc
