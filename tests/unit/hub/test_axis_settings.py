"""The axis settings: off by default, a complete account when on, usable upstream config."""

from __future__ import annotations

import pytest

from adapters.axis import AxisConfig
from hub.bootstrap import axis_config, open_upstream_of
from hub.errors import ConfigurationError
from hub.settings import load_settings

ACCOUNT = {
    "LIENTHONG_AXIS_URL": "https://axis.example/vxp/",
    "LIENTHONG_AXIS_SYSTEM_ID": "hanoi.hub",
    "LIENTHONG_AXIS_SECRET": "s3cret-value",
}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ACCOUNT.items():
        monkeypatch.setenv(name, value)


def test_no_axis_is_configured_by_default() -> None:
    settings = load_settings()

    assert not settings.axis.configured
    assert settings.axis.kind == "vxp"
    assert (settings.axis.poll_edoc_seconds, settings.axis.poll_status_seconds) == (60.0, 60.0)
    assert axis_config(settings) is None
    assert open_upstream_of(settings) is None


def test_an_axis_url_needs_the_system_id_and_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_URL", "https://axis.example/vxp")

    with pytest.raises(ConfigurationError) as error:
        load_settings()

    message = str(error.value)
    assert "LIENTHONG_AXIS_SYSTEM_ID: Value error, required when LIENTHONG_AXIS_URL" in message
    assert "LIENTHONG_AXIS_SECRET" in message


@pytest.mark.usefixtures("account")
def test_the_secret_never_shows_in_the_settings() -> None:
    settings = load_settings()

    assert "s3cret-value" not in repr(settings)
    assert settings.axis.secret.get_secret_value() == "s3cret-value"


@pytest.mark.usefixtures("account")
def test_the_settings_make_the_upstream_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_ORGAN_ID", "000.00.00.H26")
    monkeypatch.setenv("LIENTHONG_AXIS_READ_TIMEOUT", "120")
    monkeypatch.setenv("LIENTHONG_AXIS_HTTP_ATTEMPTS", "2")
    monkeypatch.setenv("LIENTHONG_AXIS_VERIFY_TLS", "false")
    monkeypatch.setenv("LIENTHONG_AXIS_PROTOCOL", '{"service_type": "EDOC", "paths": {}}')

    config = axis_config(load_settings())

    assert isinstance(config, AxisConfig)
    assert (config.url, config.system_id, config.organ_id) == (
        "https://axis.example/vxp",
        "hanoi.hub",
        "000.00.00.H26",
    )
    assert (config.read_timeout, config.http_attempts, config.verify_tls) == (120.0, 2, False)
    assert config.options.service_type == "EDOC"


@pytest.mark.usefixtures("account")
def test_an_unusable_axis_url_is_reported_by_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_URL", "ftp://axis.example")

    with pytest.raises(ConfigurationError, match=r"LIENTHONG_AXIS_URL: .*http"):
        axis_config(load_settings())


@pytest.mark.usefixtures("account")
def test_an_unknown_protocol_override_is_reported_by_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIENTHONG_AXIS_PROTOCOL", '{"header_prefx": "X-"}')

    with pytest.raises(ConfigurationError, match="LIENTHONG_AXIS_PROTOCOL: header_prefx"):
        axis_config(load_settings())


def test_an_unknown_upstream_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_UPSTREAM_KIND", "lgsp")

    with pytest.raises(ConfigurationError, match="LIENTHONG_UPSTREAM_KIND"):
        load_settings()
