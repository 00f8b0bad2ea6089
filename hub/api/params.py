"""Text a request carries, refused at the door when the database could not hold it.

PostgreSQL's text cannot hold a NUL character, and a lone surrogate (``\\ud800`` in JSON) has
no UTF-8 form for any database: either would fail deep in a query as a storage error (503)
or a crash (500). :func:`plain_parameters` checks every path and query parameter of the
routes it is installed on, :func:`plain_form` every field of a form (the console's); both
answer 422 ``request.bad-character``. :data:`PlainText` checks the text fields of JSON
bodies (422 ``request.invalid``, naming the field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator

from hub.errors import InvalidRequestError

__all__ = ["PlainText", "plain_form", "plain_parameters", "text_fault"]

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

_UNHOLDABLE = re.compile("[\x00\ud800-\udfff]")


def text_fault(value: str) -> str | None:
    """What makes ``value`` unfit for the database, or None when nothing does."""
    found = _UNHOLDABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (U+0000)"
    return f"a lone surrogate (U+{ord(found.group()):04X}), which has no UTF-8 form"


def _plain(value: str) -> str:
    fault = text_fault(value)
    if fault is not None:
        raise ValueError(f"text may not contain {fault}")
    return value


PlainText = Annotated[str, AfterValidator(_plain)]
"""A text field of a request body that the database can hold."""


async def plain_parameters(request: Request) -> None:
    """Refuse a request whose path or query parameters the database could not hold.

    Raises:
        InvalidRequestError: ``request.bad-character``, naming the parameter.
    """
    _check([*request.path_params.items(), *request.query_params.multi_items()])


async def plain_form(request: Request) -> None:
    """Refuse a form whose fields the database could not hold (read once, then cached).

    Raises:
        InvalidRequestError: ``request.bad-character``, naming the field.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORMS:
        form = await request.form()
        _check(form.multi_items())


def _check(named: Iterable[tuple[str, object]]) -> None:
    for name, value in named:
        fault = text_fault(name) or (text_fault(value) if isinstance(value, str) else None)
        if fault is not None:
            where = name if text_fault(name) is None else "a parameter name"
            raise InvalidRequestError(
                f"{where} contains {fault}: no text the hub keeps can hold one",
                code="request.bad-character",
                details={"parameter": where},
            )
