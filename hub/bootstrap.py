"""The composition root: builds the hub's resources from a settings object, nothing else does.

Only the entry points (``hub/cli``, the benchmarks) and the tests import it.

It opens the database (checking or upgrading its schema as the settings allow) and runs
units of work on it, and builds the payload store and the HTTP API; brokers and adapters are
built here too, the national axis upstream among them (when ``LIENTHONG_AXIS_URL`` is set).
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigurationError
from hub.settings import Settings

if TYPE_CHECKING:
    # What each process needs is imported in the function that builds it, so a worker never
    # loads the API's web framework, nor the relay the XML and PDF libraries.
    from cryptography import x509
    from fastapi import FastAPI
    from pydantic import ValidationError

    from adapters.axis import UpstreamConfig
    from hub.axis.poller import AxisPoller
    from hub.axis.upstream import Upstream
    from hub.db.database import Database
    from hub.evidence.signing import HubSigner
    from hub.health.reporter import Check
    from hub.payloads import BlobStore
    from hub.transport.relay import Relay
    from hub.transport.topology import Topology
    from hub.transport.worker import Worker

__all__ = [
    "api_listening",
    "axis_config",
    "broker_queue_depths",
    "broker_reachable",
    "build_api",
    "build_console",
    "build_relay",
    "build_topology",
    "check_broker",
    "check_port",
    "client_tls",
    "database_answers",
    "load_evidence_signer",
    "load_pdf_trust_roots",
    "load_trust_anchors",
    "open_axis_poller",
    "open_blob_store",
    "open_upstream_of",
    "open_worker",
    "reporting_health",
    "server_tls",
]


# -- payload store and the HTTP API ----------------------------------------------------

_PROBE_TIMEOUT_SECONDS = 2.0


def open_blob_store(settings: Settings, database: Database) -> BlobStore:
    """The content-addressed payload store of ``LIENTHONG_PAYLOAD_STORE``: the folder
    ``LIENTHONG_BLOB_DIR``, or chunks in ``database`` (the tracking database)."""
    if settings.storage.payload_store == "database":
        from adapters.payloads.database import DatabaseBlobStore

        return DatabaseBlobStore(database.engine)
    from adapters.payloads.files import FileBlobStore

    return FileBlobStore(settings.storage.blob_dir)


def load_trust_anchors(settings: Settings) -> list[x509.Certificate]:
    """The certificates of ``LIENTHONG_TRUST_ANCHORS``.

    Raises:
        ConfigurationError: a file cannot be read or holds no certificate.
    """

    import edxml

    try:
        return edxml.load_certificates(settings.ingest.trust_anchors)
    except edxml.EdxmlError as exc:
        raise ConfigurationError(f"LIENTHONG_TRUST_ANCHORS: {exc.message}") from exc


def load_pdf_trust_roots(settings: Settings) -> list[x509.Certificate]:
    """The certificates of ``LIENTHONG_PDF_TRUST_ROOTS``.

    Raises:
        ConfigurationError: a file cannot be read or holds no certificate.
    """

    import edxml

    try:
        return edxml.load_certificates(settings.ingest.pdf_trust_roots)
    except edxml.EdxmlError as exc:
        raise ConfigurationError(f"LIENTHONG_PDF_TRUST_ROOTS: {exc.message}") from exc


def broker_reachable(settings: Settings) -> Callable[[], None]:
    """A readiness check that a node of ``LIENTHONG_AMQP_URL`` accepts TCP connections
    (each is tried in turn; the check fails only when none does)."""
    addresses = []
    from urllib.parse import urlsplit

    try:
        for one in settings.broker.urls:
            url = urlsplit(one)
            port = url.port or (5671 if url.scheme == "amqps" else 5672)
            addresses.append((url.hostname or "127.0.0.1", port))
    except ValueError as exc:
        raise ConfigurationError(f"LIENTHONG_AMQP_URL is not a URL: {exc}") from exc

    def check() -> None:
        failures: list[OSError] = []
        for address in addresses:
            try:
                with socket.create_connection(address, timeout=_PROBE_TIMEOUT_SECONDS):
                    return
            except OSError as exc:
                failures.append(exc)
        raise failures[-1]

    return check


_PREFLIGHT_SECONDS = 5.0
"""How long a process waits for the broker's answer before it says it cannot start."""


def check_broker(settings: Settings) -> None:
    """Fail at once, with one plain sentence, when the broker does not answer.

    Raises:
        BrokerUnavailableError: it does not answer, or refuses the login.
    """
    from adapters.amqp import probe_broker

    probe_broker(settings.broker.url, timeout=_PREFLIGHT_SECONDS)


def check_port(settings: Settings, port: int | None = None) -> None:
    """Fail at once when the API's address is taken (before anything says it is served).

    Raises:
        ConfigurationError: another process listens there, or the address is not this host's.
    """
    host, chosen = settings.api.host, port or settings.api.port
    try:
        infos = socket.getaddrinfo(host, chosen, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"{host}:{chosen} is already in use: stop what listens there, or choose "
                "another port (LIENTHONG_PORT)"
            ) from exc
        raise ConfigurationError(
            f"cannot listen on {host}:{chosen} (LIENTHONG_HOST, LIENTHONG_PORT): "
            f"{exc.strerror or exc}"
        ) from exc


def broker_queue_depths(settings: Settings) -> Callable[[], dict[str, int]]:
    """Reads the messages waiting in the hub's work, retry and parking queues, for /metrics."""
    from adapters.amqp import queue_depths

    names = [queue.name for queue in build_topology(settings).queues()]

    def read() -> dict[str, int]:
        return queue_depths(settings.broker.url, names, timeout=_PROBE_TIMEOUT_SECONDS)

    return read


def client_tls(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the hub's pushes (webhooks, peer hubs): the configured authorities
    instead of the system's, and the hub's client certificate; None for the defaults.

    Raises:
        ConfigurationError: a configured file does not exist or cannot be used.
    """

    ca_file = settings.webhook.ca_file
    cert_file, key_file = settings.webhook.client_cert_file, settings.webhook.client_key_file
    if ca_file is None and cert_file is None:
        return None
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        if cert_file is not None and key_file is not None:
            context.load_cert_chain(str(cert_file), str(key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"LIENTHONG_WEBHOOK_CA_FILE / LIENTHONG_WEBHOOK_CLIENT_CERT_FILE / "
            f"LIENTHONG_WEBHOOK_CLIENT_KEY_FILE cannot be used: {exc}"
        ) from exc
    return context


def server_tls(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS arguments for the API: none for plain HTTP, the certificate and key for
    HTTPS, and the client authorities with certificates required for mutual TLS.

    Raises:
        ConfigurationError: a configured file does not exist.
    """

    if settings.api.tls_cert_file is None or settings.api.tls_key_file is None:
        return {}
    files = {
        "LIENTHONG_TLS_CERT_FILE": settings.api.tls_cert_file,
        "LIENTHONG_TLS_KEY_FILE": settings.api.tls_key_file,
    }
    if settings.api.tls_client_ca_file is not None:
        files["LIENTHONG_TLS_CLIENT_CA_FILE"] = settings.api.tls_client_ca_file
    for name, path in files.items():
        if not path.is_file():
            raise ConfigurationError(f"{name}: no such file: {path}")
    options: dict[str, Any] = {
        "ssl_certfile": str(settings.api.tls_cert_file),
        "ssl_keyfile": str(settings.api.tls_key_file),
    }
    if settings.api.tls_client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.api.tls_client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


def load_evidence_signer(settings: Settings) -> HubSigner | None:
    """The evidence key and certificate of ``LIENTHONG_EVIDENCE_KEY_FILE``/``_CERT_FILE``;
    None when they are not set.

    Raises:
        ConfigurationError: a file cannot be read, or they do not belong together.
    """
    key_file, cert_file = settings.evidence.key_file, settings.evidence.cert_file
    if key_file is None or cert_file is None:
        return None
    from hub.evidence.signing import load_signer

    return load_signer(key_file, cert_file)


def build_console(settings: Settings, database: Database, blobs: BlobStore) -> FastAPI | None:
    """The console app when ``LIENTHONG_CONSOLE_ENABLED``, for the API to mount."""
    if not settings.console.enabled:
        return None
    # Imported here: the console's template and chart libraries stay out of the processes
    # that never serve it (relay, workers).
    from hub.console.app import create_console

    return create_console(settings, database, blobs)


def build_api(settings: Settings, database: Database) -> FastAPI:
    """The API app on an open database, with the payload store, readiness checks, console
    and evidence key."""
    from hub.api.app import create_app
    from hub.ingest.revocation import RevocationLists

    blobs = open_blob_store(settings, database)
    return create_app(
        settings,
        database,
        blobs,
        trust_anchors=load_trust_anchors(settings),
        pdf_trust_roots=load_pdf_trust_roots(settings),
        revocation=RevocationLists(settings.ingest.crls),
        ready_checks={"broker": broker_reachable(settings)},
        queue_depths=broker_queue_depths(settings),
        console=build_console(settings, database, blobs),
        evidence=load_evidence_signer(settings),
    )


# -- health: what each process reports to its supervisor ---------------------------------


def database_answers(database: Database) -> Check:
    """A readiness check: the tracking database answers a query."""

    from sqlalchemy import text

    def check() -> None:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))

    return check


def api_listening(settings: Settings) -> Check:
    """A readiness check: the API takes TCP connections on ``LIENTHONG_HOST:LIENTHONG_PORT``."""
    host = settings.api.host
    address = ("127.0.0.1" if host in ("", "0.0.0.0", "::") else host, settings.api.port)  # noqa: S104

    def check() -> None:
        with socket.create_connection(address, timeout=_PROBE_TIMEOUT_SECONDS):
            pass

    return check


@contextmanager
def reporting_health(settings: Settings, checks: Mapping[str, Check]) -> Iterator[None]:
    """Run ``checks`` every ``LIENTHONG_HEALTH_INTERVAL`` seconds for the duration of the
    block, touching ``LIENTHONG_HEALTH_FILE`` and notifying systemd while they pass; nothing
    runs when neither is configured."""
    from hub.health.reporter import HealthReporter
    from hub.health.systemd import SystemdNotifier

    notifier = SystemdNotifier.from_environment()
    if settings.health.file is None and notifier is None:
        yield
        return
    reporter = HealthReporter(
        checks, file=settings.health.file, interval=settings.health.interval, notifier=notifier
    )
    reporter.start()
    try:
        yield
    finally:
        reporter.stop()


# -- delivery: broker topology, relay, workers, channel handlers -------------------------


def build_topology(settings: Settings) -> Topology:
    """The broker layout of ``LIENTHONG_AMQP_PREFIX`` and the retry settings."""
    from hub.transport.topology import Topology

    return Topology.from_settings(settings)


def build_relay(settings: Settings, database: Database, stop: threading.Event) -> Relay:
    """The outbox relay, publishing with windowed asynchronous confirms."""

    from adapters.amqp import WindowedPublisher
    from hub.directory.reorganise import DueChanges
    from hub.transport.relay import Relay
    from hub.transport.wakeup import wakeup_for

    topology = build_topology(settings)
    publisher = WindowedPublisher(
        settings.broker.url,
        topology,
        window=settings.relay.window,
        confirm_timeout=settings.relay.confirm_timeout,
        heartbeat=settings.broker.heartbeat,
        reconnect_timeout=settings.broker.reconnect_timeout,
        name=f"lienthong-relay {socket.gethostname()}",
        stop=stop,
        connect_timeout=settings.broker.connect_timeout,
    )
    publisher.open()
    return Relay(
        database,
        publisher,
        topology,
        batch_size=settings.relay.batch_size,
        idle_seconds=settings.relay.idle_seconds,
        wakeup=wakeup_for(database),
        chores=(DueChanges(database).tick,),
    )


_AGENCY_QUEUE_RECONNECT_SECONDS = 10.0
"""An ``amqp``-channel attempt waits at most this long for the broker, then is retried."""


@contextmanager
def open_worker(settings: Settings, database: Database) -> Iterator[Worker]:
    """A delivery worker and its channel handlers; the shared HTTP client closes on exit."""
    from functools import partial

    from adapters.amqp import BrokerConnection
    from adapters.http import make_http_client
    from hub.channels.registry import ChannelResources, build_handlers
    from hub.transport.breaker import CircuitBreaker
    from hub.transport.retries import RetryPolicy
    from hub.transport.worker import Worker, WorkerOptions

    topology = build_topology(settings)
    http = make_http_client(
        connect_timeout=settings.webhook.connect_timeout,
        read_timeout=settings.webhook.read_timeout,
        max_connections=settings.webhook.max_connections,
        tls=client_tls(settings),
    )

    def connect(stop: threading.Event, name: str) -> BrokerConnection:
        return BrokerConnection(
            settings.broker.url,
            topology,
            heartbeat=settings.broker.heartbeat,
            reconnect_timeout=settings.broker.reconnect_timeout,
            name=f"lienthong-worker {name}",
            stop=stop,
            connect_timeout=settings.broker.connect_timeout,
        )

    def agency_queues() -> BrokerConnection:
        return BrokerConnection(
            settings.broker.url,
            topology,
            heartbeat=settings.broker.heartbeat,
            reconnect_timeout=min(
                settings.broker.reconnect_timeout, _AGENCY_QUEUE_RECONNECT_SECONDS
            ),
            name="lienthong-amqp-channel",
            connect_timeout=settings.broker.connect_timeout,
        )

    upstream = open_upstream_of(settings)
    resources = ChannelResources(
        settings=settings,
        database=database,
        topology=topology,
        http=http,
        agency_queues=agency_queues,
        upstream=upstream,
    )

    try:
        yield Worker(
            database=database,
            blobs=open_blob_store(settings, database),
            topology=topology,
            policy=RetryPolicy.from_settings(settings),
            breaker=CircuitBreaker(
                threshold=settings.peers.breaker_threshold,
                cooldown=settings.peers.breaker_cooldown,
                max_cooldown=settings.peers.breaker_max_cooldown,
                probe_timeout=settings.worker.attempt_timeout,
                max_in_flight=settings.peers.max_in_flight,
                max_suspect=max(1, int(settings.worker.threads * settings.peers.suspect_share)),
            ),
            connect=connect,
            handlers=partial(build_handlers, resources),
            options=WorkerOptions(
                threads=settings.worker.threads,
                prefetch=settings.worker.prefetch,
                attempt_timeout=settings.worker.attempt_timeout,
                busy_peer_wait=settings.peers.busy_wait,
            ),
        )
    finally:
        http.close()
        if upstream is not None:
            upstream.close()


# -- the national axis ----------------------------------------------------------------------


def axis_config(settings: Settings) -> UpstreamConfig | None:
    """The upstream account of the ``LIENTHONG_AXIS_*`` settings; None when no axis is set.

    Raises:
        ConfigurationError: a setting cannot be used (the message names it).
    """
    from pydantic import ValidationError

    from adapters.axis import ProtocolOptions, UpstreamConfig

    if not settings.axis.configured:
        return None
    try:
        options = ProtocolOptions.model_validate(settings.axis.protocol)
    except ValidationError as exc:
        raise ConfigurationError(f"LIENTHONG_AXIS_PROTOCOL: {_problems(exc)}") from exc
    try:
        return UpstreamConfig(
            kind=settings.axis.kind,
            url=settings.axis.url,
            system_id=settings.axis.system_id,
            secret=settings.axis.secret,
            organ_id=settings.axis.organ_id or None,
            connect_timeout=settings.axis.connect_timeout,
            read_timeout=settings.axis.read_timeout,
            http_attempts=settings.axis.http_attempts,
            verify_tls=settings.axis.verify_tls,
            ca_bundle=str(settings.axis.ca_bundle) if settings.axis.ca_bundle else None,
            options=options,
        )
    except ValidationError as exc:
        raise ConfigurationError(f"LIENTHONG_AXIS_URL: {_problems(exc)}") from exc


def open_upstream_of(settings: Settings) -> Upstream | None:
    """The upstream of the settings (``LIENTHONG_UPSTREAM_KIND``), or None when no axis is set.

    Nothing connects before the first call; the caller closes it.

    Raises:
        ConfigurationError: a setting cannot be used.
    """
    from adapters.axis import open_upstream

    config = axis_config(settings)
    return open_upstream(config) if config is not None else None


@contextmanager
def open_axis_poller(settings: Settings, database: Database) -> Iterator[AxisPoller]:
    """The receive loops of the configured upstream; its connections close on exit.

    Raises:
        ConfigurationError: no axis is configured, or a setting cannot be used.
    """

    from hub.axis.poller import AxisPoller
    from hub.ingest.revocation import RevocationLists
    from hub.ingest.service import IngestService

    upstream = open_upstream_of(settings)
    if upstream is None:
        raise ConfigurationError("no national axis is configured: set LIENTHONG_AXIS_URL")
    blobs = open_blob_store(settings, database)
    try:
        yield AxisPoller(
            upstream,
            IngestService(
                settings,
                database,
                blobs,
                trust_anchors=load_trust_anchors(settings),
                pdf_trust_roots=load_pdf_trust_roots(settings),
                revocation=RevocationLists(settings.ingest.crls),
            ),
            database,
            blobs,
            periods={
                "edoc": settings.axis.poll_edoc_seconds,
                "status": settings.axis.poll_status_seconds,
            },
        )
    finally:
        upstream.close()


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors()
    )
