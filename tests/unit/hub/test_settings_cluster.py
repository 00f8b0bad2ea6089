"""Cluster settings: a broker given as one URL per node, quorum replicas, the payload store."""

from __future__ import annotations

import pytest

from hub.errors import ConfigurationError
from hub.settings import load_settings
from hub.transport.topology import Topology

THREE = (
    "amqp://hub:s3cret@10.1.0.11:5672/%2F,"
    "amqp://hub:s3cret@10.1.0.12:5672/%2F,"
    "amqps://hub:s3cret@10.1.0.13:5671/%2F"
)


def test_a_comma_separated_list_names_each_node_in_order() -> None:
    settings = load_settings(amqp_url=THREE)

    assert settings.broker.urls == tuple(THREE.split(","))


def test_blanks_around_the_commas_are_dropped() -> None:
    settings = load_settings(amqp_url=" amqp://a:5672/ , amqp://b:5672/ ")

    assert settings.broker.urls == ("amqp://a:5672/", "amqp://b:5672/")


def test_one_url_is_a_list_of_one_node() -> None:
    assert load_settings().broker.urls == ("amqp://guest:guest@127.0.0.1:5672/%2F",)


def test_urls_separated_by_spaces_are_refused_rather_than_cut_to_the_first() -> None:
    with pytest.raises(ConfigurationError, match="commas, not spaces"):
        load_settings(amqp_url="amqp://a:5672/ amqp://b:5672/")


def test_an_empty_place_in_the_list_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="URL 2 of 3 is empty"):
        load_settings(amqp_url="amqp://a:5672/,,amqp://b:5672/")


def test_a_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"LIENTHONG_AMQP_URL.*amqp:// or amqps://"):
        load_settings(amqp_url="amqp://a:5672/,http://b:15672/")


def test_a_refused_list_never_shows_its_passwords() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(amqp_url="amqp://hub:s3cret@a:5672/,amqp://hub:s3cret@b:port/")

    assert "s3cret" not in str(raised.value)
    assert "URL 2 of 2 cannot be read" in str(raised.value)


def test_quorum_queues_leave_their_replica_count_to_the_broker_by_default() -> None:
    topology = Topology.from_settings(load_settings())

    assert all("x-quorum-initial-group-size" not in q.arguments for q in topology.queues())


def test_a_replica_count_is_declared_on_every_quorum_queue() -> None:
    topology = Topology.from_settings(load_settings(amqp_quorum_replicas="3"))
    queues = [*topology.queues(), topology.agency_queue("000.00.12.H26")]

    assert {q.arguments["x-quorum-initial-group-size"] for q in queues} == {3}
    assert {q.arguments["x-queue-type"] for q in queues} == {"quorum"}


def test_the_payload_store_is_the_folder_unless_the_database_is_chosen() -> None:
    assert load_settings().storage.payload_store == "files"


def test_an_unknown_payload_store_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LIENTHONG_PAYLOAD_STORE"):
        load_settings(payload_store="s3")


def test_the_database_store_on_sqlite_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="needs a PostgreSQL LIENTHONG_DATABASE_URL"):
        load_settings(payload_store="database")


def test_the_database_store_on_postgresql_is_accepted() -> None:
    settings = load_settings(
        payload_store="database", database_url="postgresql://hub@db.internal/lienthong"
    )

    assert settings.storage.payload_store == "database"
