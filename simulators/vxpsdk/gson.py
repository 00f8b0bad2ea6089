"""JSON as the SDK's gson writes it and reads it: compact text out, ``getAsString()`` in.

Writing (``to`` and the sign-header): compact, no spaces, gson's default HTML-safe escaping
(``<``, ``>``, ``&``, ``=``, ``'`` as ``\\u003c``…), non-ASCII text left as it is.

Reading: numbers keep the text they were written with (gson's lazily parsed numbers give it
back unchanged: ``-1`` stays ``"-1"``); :func:`get_as_string` does what
``JsonObject.get(name).getAsString()`` does, and raises :class:`GsonReadError` wherever the
SDK throws: a missing field (a null pointer), JSON ``null``, an object, an array. gson itself
reads an array of exactly one value as that value; AXIS-SDK.md says an array throws, and the
emulator keeps to that stricter reading, so that an answer it reads is read by the SDK either
way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["GsonReadError", "JsonNumber", "get_array", "get_as_string", "parse", "to_json"]

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}
_CONTROL_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class GsonReadError(ValueError):
    """Raised where the SDK's gson reading would throw; the SDK then returns null."""


class JsonNumber(str):
    """A JSON number, kept as the text it was written with."""

    __slots__ = ()


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _HTML_ESCAPES:
            out.append(_HTML_ESCAPES[char])
        elif char in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[char])
        elif ord(char) < 0x20 or char in "\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def to_json(value: str | Sequence[str] | Mapping[str, str]) -> str:
    """Compact JSON text of a string, a list of strings or a string map (in its order)."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_string(k)}:{_string(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(_string(item) for item in value) + "]"


def parse(body: bytes) -> Any:
    """The JSON value of an answer body; raises GsonReadError when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_int=JsonNumber, parse_float=JsonNumber)
    except (UnicodeDecodeError, ValueError) as exc:
        raise GsonReadError(f"the answer is not JSON: {exc}") from exc


def _as_string(value: Any, name: str) -> str:
    """A JSON value as the string the SDK reads; GsonReadError where it throws."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        raise GsonReadError(f"{name!r} is an array of {len(value)} values, not a string")
    if value is None:
        raise GsonReadError(f"{name!r} is JSON null, not a string")
    raise GsonReadError(f"{name!r} is a JSON object, not a string")


def get_as_string(fields: Any, name: str) -> str:
    """``fields.get(name).getAsString()``; raises GsonReadError where gson would throw."""
    if not isinstance(fields, dict):
        raise GsonReadError(f"expected a JSON object holding {name!r}")
    if name not in fields:
        raise GsonReadError(f"{name!r} is missing")
    return _as_string(fields[name], name)


def get_array(fields: Any, name: str) -> list[Any]:
    """``fields.getAsJsonArray(name)``; raises GsonReadError when it is missing or not one."""
    if not isinstance(fields, dict):
        raise GsonReadError(f"expected a JSON object holding {name!r}")
    value = fields.get(name)
    if not isinstance(value, list):
        raise GsonReadError(f"{name!r} is {'missing' if value is None else 'not an array'}")
    return value
