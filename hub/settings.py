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

from pydantic import Field, ValidationError, field_validator, model_validator
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
            for error in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from exc
