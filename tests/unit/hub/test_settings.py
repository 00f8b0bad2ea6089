"""Settings: defaults, LIENTHONG_* variables, derived paths, validation, immutability."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pydantic
import pytest

from hub.errors import ConfigurationError
from hub.settings import Settings, load_settings


def test_defaults_put_state_under_var() -> None:
    settings = load_settings()

    assert settings.storage.data_dir == Path("var")
    assert settings.database.url == "sqlite:///var/lienthong.db"
    assert settings.storage.blob_dir == Path("var/blobs")
    assert settings.api.port == 8080
    assert settings.broker.url == "amqp://guest:guest@127.0.0.1:5672/%2F"


def test_data_dir_moves_database_and_blobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_DATA_DIR", "/srv/lienthong")

    settings = load_settings()

    assert settings.database.url == "sqlite:////srv/lienthong/lienthong.db"
    assert settings.storage.blob_dir == Path("/srv/lienthong/blobs")


def test_explicit_database_url_wins_over_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_DATA_DIR", "/srv/lienthong")
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", "postgresql://hub@db/lienthong")

    assert load_settings().database.url == "postgresql://hub@db/lienthong"


def test_port_is_read_from_lienthong_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_PORT", "9090")

    assert load_settings().api.port == 9090


def test_retry_delays_accept_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_RETRY_DELAYS", "1, 10,60")

    settings = load_settings()

    assert settings.retries.delays == (1.0, 10.0, 60.0)
    assert settings.retries.max_attempts == 4


def test_retry_delays_accept_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_RETRY_DELAYS", "[2, 4.5]")

    assert load_settings().retries.delays == (2.0, 4.5)


def test_max_delivery_age_accepts_an_iso_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_MAX_DELIVERY_AGE", "P2D")

    assert load_settings().retries.max_age == timedelta(days=2)


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_PORT", "eighty")

    with pytest.raises(ConfigurationError, match="LIENTHONG_PORT"):
        load_settings()


def test_negative_retry_delay_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_RETRY_DELAYS", "5,-1")

    with pytest.raises(ConfigurationError, match="LIENTHONG_RETRY_DELAYS"):
        load_settings()


def test_settings_are_frozen() -> None:
    settings = load_settings()

    with pytest.raises(pydantic.ValidationError):
        settings.port = 1  # type: ignore[misc]


def test_every_setting_is_documented_with_its_variable() -> None:
    for _, variable, field in Settings.variables():
        assert field.description, variable
        assert field.description.startswith(f"{variable}:"), variable
