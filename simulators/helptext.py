"""Docstrings as ``--help`` text: reStructuredText roles and literals as plain words."""

from __future__ import annotations

import re

__all__ = ["plain"]

_ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str | None) -> str:
    """``text`` with ``:mod:`x``` → ``x`` and double-backquoted literals → single quotes."""
    if not text:
        return ""
    return _LITERAL.sub(r"'\1'", _ROLE.sub(r"\1", text))
