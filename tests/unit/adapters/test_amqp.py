"""The AMQP adapter's parameters: passwords stay out of messages, heartbeats are asked for."""

from __future__ import annotations

import pytest

from adapters.amqp import connection_parameters, redacted_amqp_url
from hub.errors import ConfigurationError


def test_the_password_never_appears_in_messages() -> None:
    url = "amqp://hub:s3cret@broker.internal:5672/%2F"

    assert redacted_amqp_url(url) == "amqp://hub:***@broker.internal:5672/%2F"
    assert redacted_amqp_url("amqp://broker.internal/") == "amqp://broker.internal/"


def test_connections_ask_for_heartbeats_and_carry_a_name() -> None:
    parameters = connection_parameters(
        "amqp://guest:guest@127.0.0.1:5672/%2F", heartbeat=15, name="lienthong-worker h:1:0"
    )

    assert parameters.heartbeat == 15
    assert parameters.connection_attempts == 1
    assert parameters.client_properties == {"connection_name": "lienthong-worker h:1:0"}


def test_an_unreadable_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_AMQP_URL"):
        connection_parameters("amqp://h/?heartbeat=often", heartbeat=1, name="x")
