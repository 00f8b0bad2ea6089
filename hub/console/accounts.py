"""Signing in and out, one's own password, the language toggle, and the admins' pages: users
and the directory."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from hub.console import queries, throttle
from hub.console.auth import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Identity,
    Lookup,
    end_session,
    find_session,
    purge_expired,
    start_session,
)
from hub.console.i18n import LANGUAGES
from hub.console.users import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    add_user,
    change_own_password,
    check_login,
    list_users,
    set_active,
    set_password,
    set_role,
)
from hub.console.web import (
    AdminDep,
    AdminFormDep,
    ConsoleError,
    ContextDep,
    ViewerDep,
    ViewerFormDep,
    check_csrf,
    redirect,
    render,
    safe_next,
)
from hub.db.base import utcnow
from hub.db.models import Agency
from hub.errors import HubError, InvalidRequestError, UnauthorizedError
from hub.records import audit

__all__ = ["router"]

router = APIRouter()
_log = structlog.get_logger(__name__)
_YEAR = 365 * 24 * 3600
_PASSWORD_REFUSALS = {
    "user.weak-password": 400,
    "user.long-password": 400,
    "password.wrong": 403,
    "login.locked": 403,
    "login.throttled": 403,
    "login.disabled": 403,
}
"""The refusals of a password change the page explains (``password.error.<code>``), and their
statuses; any other error takes the console's error page."""


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _address(request: Request) -> str:
    """The client's address, as the server took it (behind a proxy: from its forwarding
    header, when the proxy is trusted: LIENTHONG_TRUSTED_PROXIES)."""
    return request.client.host if request.client is not None else "unknown"


def _set_session_cookie(response: Response, request: Request, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure,
        path=_base(request) + "/",
    )


@router.get("/login", name="login")
def login_form(
    request: Request,
    context: ContextDep,
    next_: Annotated[str, Query(alias="next")] = "",
    expired: str = "",
) -> Response:
    """The sign-in form (a signed-in visitor goes straight on)."""
    base = _base(request)
    token = request.cookies.get(SESSION_COOKIE)
    with context.db.write() as session:
        found = find_session(session, context.policy, token)
        if isinstance(found, Identity) and found.signed_in:
            return redirect(safe_next(next_, base))
        fresh = None
        if not isinstance(found, Identity):
            purge_expired(session, context.policy)
            throttle.purge(session, utcnow())
            fresh, found = start_session(session, context.policy)
    context.stats.warm()
    response = render(
        request,
        context,
        "login.html",
        {"next": safe_next(next_, base), "error": "", "expired": bool(expired), "name": ""},
        identity=found,
        page="login",
    )
    if fresh is not None:
        _set_session_cookie(response, request, fresh, context.policy.secure_cookies)
    return response


@router.post("/login")
def login(
    request: Request,
    context: ContextDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the name and password; on success a new session replaces the form's."""
    base = _base(request)
    token = request.cookies.get(SESSION_COOKIE)
    with context.db.write() as session:
        form_session = find_session(session, context.policy, token)
    if isinstance(form_session, Lookup):
        return redirect(f"{base}/login?expired=1")
    check_csrf(form_session, csrf_token)
    refused: UnauthorizedError | None = None
    with context.db.write() as session:
        # A refusal is caught inside the transaction so the failure count it wrote commits.
        try:
            user = check_login(session, name, password, address=_address(request))
        except UnauthorizedError as exc:
            refused = exc
        else:
            end_session(session, form_session.session_id)
            fresh, identity = start_session(session, context.policy, user)
            audit.append(
                session, actor=identity.actor, action="console.login", subject=f"user:{user.name}"
            )
    if refused is not None:
        _log.info("console.login_refused", user=name[:64], reason=refused.code)
        return render(
            request,
            context,
            "login.html",
            {"next": safe_next(next_, base), "error": refused.code, "expired": False, "name": name},
            status=401,
            identity=form_session,
            page="login",
        )
    _log.info("console.login", user=user.name, role=user.role.value)
    response = redirect(safe_next(next_, base))
    _set_session_cookie(response, request, fresh, context.policy.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, context: ContextDep, identity: ViewerFormDep) -> Response:
    """End the session."""
    with context.db.write() as session:
        end_session(session, identity.session_id)
        audit.append(
            session, actor=identity.actor, action="console.logout", subject=f"user:{identity.name}"
        )
    response = redirect(f"{_base(request)}/login")
    response.delete_cookie(SESSION_COOKIE, path=_base(request) + "/")
    return response


# -- one's own password (every role) ------------------------------------------------------------


def _password_form(
    request: Request, context: ContextDep, *, done: bool = False, error: str = "", status: int = 200
) -> Response:
    limits = {"min": MIN_PASSWORD_LENGTH, "max": MAX_PASSWORD_LENGTH}
    return render(
        request,
        context,
        "password.html",
        {"done": done, "error": error, "limits": limits},
        status=status,
        page="password",
    )


@router.get("/password", name="password")
def password_page(request: Request, context: ContextDep, identity: ViewerDep) -> Response:
    """The form where signed-in users change their own password."""
    return _password_form(request, context, done=request.query_params.get("done") == "1")


@router.post("/password")
def change_own(
    request: Request,
    context: ContextDep,
    identity: ViewerFormDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    """Check the current password, set the new one, end every session of the user and start
    a new one for this browser (a stolen copy of the old cookie stops working too)."""
    if new_password != confirm_password:
        return _password_form(request, context, error="mismatch", status=400)
    assert identity.user_id is not None
    refused: InvalidRequestError | UnauthorizedError | None = None
    with context.db.write() as session:
        # Caught inside the transaction so a wrong current password's failure count commits.
        try:
            user = change_own_password(
                session,
                identity.user_id,
                current_password,
                new_password,
                actor=identity.actor,
                address=_address(request),
            )
        except (InvalidRequestError, UnauthorizedError) as exc:
            if exc.code not in _PASSWORD_REFUSALS:
                raise
            refused = exc
        else:
            fresh, _ = start_session(session, context.policy, user)
    if refused is not None:
        _log.info("console.password_refused", user=identity.name, reason=refused.code)
        status = _PASSWORD_REFUSALS[refused.code]
        return _password_form(request, context, error=refused.code, status=status)
    _log.info("console.password_changed", user=identity.name)
    response = redirect(f"{_base(request)}/password?done=1")
    _set_session_cookie(response, request, fresh, context.policy.secure_cookies)
    return response


@router.get("/lang/{code}")
def choose_language(
    request: Request, code: str, next_: Annotated[str, Query(alias="next")] = ""
) -> Response:
    """Switch the pages' language (a preference cookie, nothing stored)."""
    base = _base(request)
    response = redirect(safe_next(next_, base))
    if code in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, code, max_age=_YEAR, samesite="lax", path=base + "/", httponly=True
        )
    return response


# -- users (admins) ------------------------------------------------------------------------


@router.get("/users")
def users_page(request: Request, context: ContextDep, identity: AdminDep) -> Response:
    """Console users, with forms to add one and to change roles, state and passwords."""
    with context.db.read() as session:
        users = list_users(session)
    done = request.query_params.get("done", "")
    return render(
        request,
        context,
        "users.html",
        {"users": users, "done": done, "error": ""},
        page="users",
    )


def _users_error(request: Request, context: ContextDep, exc: HubError) -> Response:
    with context.db.read() as session:
        users = list_users(session)
    return render(
        request,
        context,
        "users.html",
        {"users": users, "done": "", "error": exc.message},
        status=409 if exc.code in {"user.exists", "user.last-admin"} else 400,
        page="users",
    )


@router.post("/users")
def create_user(
    request: Request,
    context: ContextDep,
    identity: AdminFormDep,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Add a console user."""
    try:
        with context.db.write() as session:
            add_user(session, name, role, password, actor=identity.actor)
    except HubError as exc:
        return _users_error(request, context, exc)
    return redirect(f"{_base(request)}/users?done=added")


@router.post("/users/{name}/role")
def change_role(
    request: Request,
    context: ContextDep,
    identity: AdminFormDep,
    name: str,
    role: Annotated[str, Form()] = "",
) -> Response:
    """Change a user's role."""
    try:
        with context.db.write() as session:
            set_role(session, name, role, actor=identity.actor)
    except HubError as exc:
        return _users_error(request, context, exc)
    return redirect(f"{_base(request)}/users?done=role")


@router.post("/users/{name}/active")
def change_active(
    request: Request,
    context: ContextDep,
    identity: AdminFormDep,
    name: str,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Enable or disable a user."""
    try:
        with context.db.write() as session:
            set_active(session, name, active == "1", actor=identity.actor)
    except HubError as exc:
        return _users_error(request, context, exc)
    return redirect(f"{_base(request)}/users?done=active")


@router.post("/users/{name}/password")
def change_password(
    request: Request,
    context: ContextDep,
    identity: AdminFormDep,
    name: str,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Set a user's password (the user's other sessions end)."""
    try:
        with context.db.write() as session:
            set_password(
                session,
                name,
                password,
                actor=identity.actor,
                keep_session=identity.session_id if name == identity.name else None,
            )
    except HubError as exc:
        return _users_error(request, context, exc)
    return redirect(f"{_base(request)}/users?done=password")


# -- the directory (admins) ------------------------------------------------------------------


@router.get("/directory")
def directory_page(request: Request, context: ContextDep, identity: AdminDep) -> Response:
    """Every agency: level, parent, channel, webhook origin, active tokens, switched on."""
    with context.db.read() as session:
        entries = queries.directory_entries(session, with_tokens=True)
        names = queries.level_names(session)
    return render(
        request,
        context,
        "directory.html",
        {"entries": entries, "level_names": names, "done": request.query_params.get("done", "")},
        page="directory",
    )


@router.post("/directory/{code}/active")
def agency_active(
    request: Request,
    context: ContextDep,
    identity: AdminFormDep,
    code: str,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Switch an agency on or off (routing refuses packets to one switched off)."""
    wanted = active == "1"
    with context.db.write() as session:
        agency = session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
        if agency is None:
            raise ConsoleError(404, "error.agency", code=code)
        if agency.active != wanted:
            agency.active = wanted
            audit.append(
                session,
                actor=identity.actor,
                action="directory.agency-enabled" if wanted else "directory.agency-disabled",
                subject=f"agency:{code}",
            )
    context.stats.cache.clear()
    return redirect(f"{_base(request)}/directory?done={code}")
