"""The FastAPI application of the hub, built from resources the composition root opened."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread
from cryptography import x509
from fastapi import Depends, FastAPI

from hub.api import directory, inbox, operations, packets, vxp
from hub.api import evidence as evidence_api
from hub.api.context import ApiContext, ReadinessCheck
from hub.api.errors import install_error_handlers
from hub.api.metrics import ApiMetrics, DepthReader
from hub.api.params import plain_parameters
from hub.api.uploads import BodyLimits, UploadGate
from hub.auth.cache import CallerCache
from hub.db.base import utcnow
from hub.evidence.signing import HubSigner
from hub.ingest.revocation import RevocationLists
from hub.ingest.service import IngestService
from hub.payloads import BlobStore
from hub.settings import Settings
from hub.tracking.gauges import HubGauges, read_gauges
from hub.vxp.service import VxpService

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = ["create_app"]

_CONSOLE_WARM_DELAY = 5.0
"""Seconds after start before the console's statistics are computed in the background."""

_DESCRIPTION = """\
Agencies post edXML packets (QCVN 102:2016) and take delivery of what is addressed to them;
senders and recipients follow each document; operators replay what could not be delivered.
Authenticate with `Authorization: Bearer <token>`. Errors answer
`{"error": {"code", "message", "element", "line"}}`.
"""


def create_app(
    settings: Settings,
    database: Database,
    blobs: BlobStore,
    *,
    trust_anchors: Sequence[x509.Certificate] = (),
    pdf_trust_roots: Sequence[x509.Certificate] = (),
    revocation: RevocationLists | None = None,
    ready_checks: Mapping[str, ReadinessCheck] | None = None,
    queue_depths: DepthReader | None = None,
    console: FastAPI | None = None,
    evidence: HubSigner | None = None,
) -> FastAPI:
    """The API app serving ``database`` and ``blobs``; ``ready_checks`` join ``/readyz``,
    ``queue_depths`` (the broker's) joins ``/metrics``, ``console`` is mounted at ``/console``,
    ``evidence`` signs evidence receipts."""

    def gauges() -> HubGauges:
        with database.transaction() as session:
            return read_gauges(session, utcnow())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Blocking handlers run in a few worker threads (LIENTHONG_API_THREADS): more only
        # contend for the interpreter and switch more; requests beyond queue here.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.api.threads
        if console is not None:
            # The mounted console's own lifespan never runs: its statistics start computing
            # here, in the background, so the first visitor does not wait for them; a few
            # seconds after start, so that they do not slow the API's own start on a small
            # machine.
            warming = threading.Timer(_CONSOLE_WARM_DELAY, console.state.console.stats.warm)
            warming.daemon = True
            warming.start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="lienthong hub API",
        version="1",
        description=_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    ingest = IngestService(
        settings,
        database,
        blobs,
        trust_anchors=trust_anchors,
        pdf_trust_roots=pdf_trust_roots,
        revocation=revocation,
    )
    app.state.context = ApiContext(
        settings=settings,
        database=database,
        blobs=blobs,
        ingest=ingest,
        metrics=ApiMetrics(gauges, queue_depths),
        ready_checks=dict(ready_checks or {}),
        vxp=VxpService(settings, database, blobs, ingest),
        uploads=UploadGate(settings.api.max_uploads, settings.api.max_uploads_per_agency),
        evidence=evidence,
        callers=CallerCache(settings.api.token_cache_seconds),
    )
    app.add_middleware(
        BodyLimits, idle=settings.api.body_idle_timeout, total=settings.api.body_timeout
    )
    install_error_handlers(app)
    # The VXP endpoint takes no path or query parameters, and answers in VXP's own words.
    plain = [Depends(plain_parameters)]
    app.include_router(packets.router, dependencies=plain)
    app.include_router(inbox.router, dependencies=plain)
    app.include_router(operations.router, dependencies=plain)
    app.include_router(vxp.router)
    app.include_router(evidence_api.router, dependencies=plain)
    app.include_router(directory.router, dependencies=plain)
    if console is not None:
        app.mount("/console", console)
    return app
