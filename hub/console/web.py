"""What every console route shares: its resources, the signed-in identity, role and CSRF
checks, rendering a template in the reader's language, and the HTML error pages."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from hub.auth.roles import ConsoleRole
from hub.console.auth import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Identity,
    Lookup,
    SessionPolicy,
    find_session,
)
from hub.console.figures import LOCAL_TZ, WINDOWS, Window
from hub.console.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from hub.console.service import ConsoleDatabase, ConsoleStats
from hub.payloads import BlobStore
from hub.settings import Settings

__all__ = [
    "AdminDep",
    "AdminFormDep",
    "ConsoleContext",
    "ConsoleError",
    "ContextDep",
    "Formatter",
    "NotSignedInError",
    "OperatorDep",
    "OperatorFormDep",
    "ViewerDep",
    "ViewerFormDep",
    "language",
    "render",
    "safe_next",
    "window_of",
]

PAGE_SIZE = 50


@dataclass(frozen=True)
class ConsoleContext:
    """The resources one console app serves from."""

    settings: Settings
    db: ConsoleDatabase
    stats: ConsoleStats
    blobs: BlobStore
    templates: Environment
    policy: SessionPolicy


class ConsoleError(Exception):
    """A request the console refuses: an HTTP status and a message key (with values)."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


class NotSignedInError(Exception):
    """No signed-in session: pages redirect to the sign-in form, forms answer 401."""

    def __init__(self, expired: bool) -> None:
        super().__init__("not signed in")
        self.expired = expired


def _context(request: Request) -> ConsoleContext:
    context = request.app.state.console
    assert isinstance(context, ConsoleContext)
    return context


ContextDep = Annotated[ConsoleContext, Depends(_context)]


def _identity(request: Request, context: ContextDep) -> Identity:
    """The signed-in user of the session cookie; API tokens are not looked at."""
    token = request.cookies.get(SESSION_COOKIE)
    with context.db.write() as session:
        found = find_session(session, context.policy, token)
    if isinstance(found, Lookup) or not found.signed_in:
        raise NotSignedInError(expired=found is Lookup.EXPIRED)
    request.state.identity = found
    return found


def _role(needed: ConsoleRole) -> Callable[[Identity], Identity]:
    def check(identity: Annotated[Identity, Depends(_identity)]) -> Identity:
        if not identity.may(needed):
            raise ConsoleError(403, "error.role", role=needed.value)
        return identity

    return check


def check_csrf(identity: Identity, offered: str) -> None:
    """Refuse a form whose CSRF token is not its session's."""
    if not offered or not secrets.compare_digest(offered, identity.csrf_token):
        raise ConsoleError(403, "error.csrf")


def _form(needed: ConsoleRole) -> Callable[..., Identity]:
    def check(
        identity: Annotated[Identity, Depends(_identity)],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Identity:
        check_csrf(identity, csrf_token)
        if not identity.may(needed):
            raise ConsoleError(403, "error.role", role=needed.value)
        return identity

    return check


ViewerDep = Annotated[Identity, Depends(_role(ConsoleRole.VIEWER))]
OperatorDep = Annotated[Identity, Depends(_role(ConsoleRole.OPERATOR))]
AdminDep = Annotated[Identity, Depends(_role(ConsoleRole.ADMIN))]
ViewerFormDep = Annotated[Identity, Depends(_form(ConsoleRole.VIEWER))]
OperatorFormDep = Annotated[Identity, Depends(_form(ConsoleRole.OPERATOR))]
AdminFormDep = Annotated[Identity, Depends(_form(ConsoleRole.ADMIN))]


def language(request: Request) -> str:
    """The reader's language: the toggle's cookie, Vietnamese by default."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def window_of(value: str | None, default: Window = "30d") -> Window:
    """A window parameter, or the default when it is not one."""
    for window in WINDOWS:
        if value == window:
            return window
    return default


def safe_next(target: str | None, base: str) -> str:
    """Where to go after signing in: a path of the console only (no open redirect)."""
    if target and target.startswith(base + "/") and "\\" not in target and "//" not in target:
        return target
    return base + "/"


class Formatter:
    """Numbers, shares, times and durations written the reader's way."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def num(self, value: int | float | None) -> str:
        """1.234 in Vietnamese, 1,234 in English."""
        if value is None:
            return "–"
        text = f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"
        if self.lang == "vi":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def pct(self, value: float | None) -> str:
        """A percentage with one decimal."""
        if value is None:
            return "–"
        text = f"{value:.1f}"
        return (text.replace(".", ",") if self.lang == "vi" else text) + " %"

    def when(self, moment: datetime | None) -> str:
        """A time on the city's clock, dd/mm/yyyy HH:MM."""
        if moment is None:
            return "–"
        return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")

    def when_full(self, moment: datetime | None) -> str:
        """A time on the city's clock with seconds."""
        if moment is None:
            return "–"
        return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")

    def iso(self, moment: datetime | None) -> str:
        """A machine-readable time (for ``<time datetime>``)."""
        return moment.isoformat(timespec="seconds") if moment is not None else ""

    def day(self, value: date | None) -> str:
        """A date, dd/mm/yyyy."""
        return value.strftime("%d/%m/%Y") if value is not None else "–"

    def duration(self, seconds: float | None) -> str:
        """A duration in the largest sensible unit."""
        if seconds is None:
            return "–"
        if seconds < 60:
            return f"{seconds:.1f} s".replace(".", "," if self.lang == "vi" else ".")
        if seconds < 3600:
            return f"{seconds / 60:.0f} min"
        if seconds < 48 * 3600:
            hours = seconds / 3600
            return f"{hours:.1f} h".replace(".", "," if self.lang == "vi" else ".")
        return f"{seconds / 86400:.1f} d".replace(".", "," if self.lang == "vi" else ".")

    def size(self, value: int | None) -> str:
        """A size in bytes, KiB or MiB."""
        if value is None:
            return "–"
        if value < 1024:
            return f"{value} B"
        if value < 1024 * 1024:
            return f"{value / 1024:.1f} KiB"
        return f"{value / 1024 / 1024:.1f} MiB"


def _query(request: Request) -> Callable[..., str]:
    """``qs(key=value, …)``: the current query string with some parameters changed."""

    def build(**changes: Any) -> str:
        params: dict[str, Any] = {
            key: value for key, value in request.query_params.multi_items() if key not in changes
        }
        for key, value in changes.items():
            if value is not None and value != "":
                params[key] = value
        encoded = urlencode(params, doseq=True)
        return "?" + encoded if encoded else "?"

    return build


def render(
    request: Request,
    context: ConsoleContext,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    identity: Identity | None = None,
    page: str = "",
) -> HTMLResponse:
    """A template rendered in the reader's language, with the navigation and helpers."""
    lang = language(request)
    me = identity if identity is not None else getattr(request.state, "identity", None)
    base = str(request.scope.get("root_path", "")).rstrip("/")
    html = context.templates.get_template(template).render(
        _=translator(lang),
        lang=lang,
        other_lang="en" if lang == "vi" else "vi",
        me=me,
        csrf=me.csrf_token if me is not None else "",
        base=base,
        section=page,
        here=request.url.path + (("?" + request.url.query) if request.url.query else ""),
        qs=_query(request),
        fmt=Formatter(lang),
        roles=ConsoleRole,
        **(values or {}),
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    """A 303 "see other" (what a form's answer redirects with)."""
    return RedirectResponse(url, status_code=303)


def no_store(response: Response) -> Response:
    """Mark a response as never cached (it holds data people must be signed in to see)."""
    response.headers["Cache-Control"] = "no-store"
    return response
