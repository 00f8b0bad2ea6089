"""What every request handler gets: the hub's resources and the authenticated caller.

Callers authenticate with ``Authorization: Bearer <token>``: an agency token (``lt_…``) or an
operator token (``lto_…``). Missing, unknown and revoked tokens answer 401.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from hub.api.metrics import ApiMetrics
from hub.api.uploads import UploadGate
from hub.auth.cache import CallerCache
from hub.auth.callers import AuthenticatedAgency, AuthenticatedOperator, Caller, authenticate_bearer
from hub.errors import ForbiddenError, UnauthorizedError
from hub.evidence.signing import HubSigner
from hub.ingest.service import IngestService
from hub.payloads import BlobStore
from hub.settings import Settings
from hub.vxp.service import VxpService

if TYPE_CHECKING:
    from hub.db.database import Database

__all__ = [
    "AgencyDep",
    "ApiContext",
    "CallerDep",
    "ContextDep",
    "OperatorDep",
    "ReadinessCheck",
]

ReadinessCheck = Callable[[], None]
"""Returns when a dependency is usable; raises (any exception) with the reason otherwise."""


@dataclass(frozen=True)
class ApiContext:
    """The resources one API app serves from."""

    settings: Settings
    database: Database
    blobs: BlobStore
    ingest: IngestService
    metrics: ApiMetrics
    ready_checks: Mapping[str, ReadinessCheck]
    vxp: VxpService
    """The VXP endpoint's operations (``/vxp/``)."""
    uploads: UploadGate
    """The packets this process reads and ingests at once, per agency and overall."""
    evidence: HubSigner | None = None
    """The key that signs evidence receipts; None when the hub has none."""
    callers: CallerCache = field(default_factory=lambda: CallerCache(0))
    """Callers authenticated a moment ago (``LIENTHONG_TOKEN_CACHE_SECONDS``)."""


async def _context(request: Request) -> ApiContext:
    # The trivial dependencies are coroutines: FastAPI runs a plain ``def`` dependency in the
    # thread pool, and each such hop costs more CPU than the dependency itself.
    context = request.app.state.context
    assert isinstance(context, ApiContext)
    return context


ContextDep = Annotated[ApiContext, Depends(_context)]


async def _caller(request: Request, context: ContextDep) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError(
            "this API needs an 'Authorization: Bearer <token>' header", code="auth.missing"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "the Authorization header must read 'Bearer <token>'", code="auth.malformed"
        )
    token = token.strip()
    known = context.callers.get(token)
    if known is not None:
        return known
    caller = await run_in_threadpool(_authenticate, context, token)
    context.callers.put(token, caller)
    return caller


def _authenticate(context: ApiContext, token: str) -> Caller:
    with context.database.transaction() as session:
        return authenticate_bearer(session, token)


CallerDep = Annotated[Caller, Depends(_caller)]


async def _agency(caller: CallerDep) -> AuthenticatedAgency:
    if not isinstance(caller, AuthenticatedAgency):
        raise ForbiddenError(
            "this endpoint serves agencies; operator tokens cannot post packets or hold an inbox",
            code="auth.agency-only",
        )
    return caller


async def _operator(caller: CallerDep) -> AuthenticatedOperator:
    if not isinstance(caller, AuthenticatedOperator):
        raise ForbiddenError(
            "this endpoint needs an operator token (`lienthong operator token NAME`)",
            code="auth.operator-only",
        )
    return caller


AgencyDep = Annotated[AuthenticatedAgency, Depends(_agency)]
OperatorDep = Annotated[AuthenticatedOperator, Depends(_operator)]
