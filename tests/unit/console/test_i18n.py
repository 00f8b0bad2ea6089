"""Both catalogues have every key, and every key the templates use exists."""

from __future__ import annotations

import re
from pathlib import Path

import hub.console
from hub.auth.roles import ConsoleRole
from hub.console.i18n import CATALOGUES, translator
from hub.db.models import ChangeKind, DeliveryState

TEMPLATES = Path(hub.console.__file__).parent / "templates"
_KEY = re.compile(r"""_\(\s*["']([a-z0-9_.\-]+)["']\s*\)""")
DYNAMIC = [
    *(f"window.{w}" for w in ("today", "7d", "30d")),
    *(f"role.{role.value}" for role in ConsoleRole),
    *(f"state.{state.value}" for state in DeliveryState),
    *(f"change.{kind.value}" for kind in ChangeKind),
    *(f"status.{code}" for code in ("none", "01", "02", "03", "04", "05", "06", "13", "15", "16")),
    *(f"pdf.{s}" for s in ("signed", "tampered", "unverifiable", "unsigned", "no-pdf", "none")),
    *(f"sig.{s}" for s in ("valid", "invalid", "absent", "unverifiable")),
    *(f"business.{n}" for n in range(4)),
    *(f"kind.{k}" for k in ("edoc", "status")),
    *(f"axis.{a}" for a in ("transport", "business")),
    *(f"step.{s}" for s in ("accepted", "attempt", "delivered", "acked", "parked", "expired")),
    *(f"breaker.{s}" for s in ("open", "failing", "closed")),
    *(f"metric.{m}" for m in ("acknowledged", "accepted", "completed", "signed", "delivered")),
    *(f"users.done.{d}" for d in ("added", "role", "active", "password")),
    *(f"error.login.{c}" for c in ("failed", "locked", "disabled")),
    *(f"trace.{t}" for t in ("too_large", "no_blob", "unreadable", "none")),
    *(f"error.title.{s}" for s in ("400", "401", "403", "404", "other")),
    *(f"unacked.missing_{m}" for m in ("01", "03")),
]


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    vietnamese, english = CATALOGUES["vi"], CATALOGUES["en"]
    assert set(vietnamese) == set(english)
    assert all(text.strip() for text in (*vietnamese.values(), *english.values()))


def test_every_key_the_templates_and_code_use_exists() -> None:
    used = {key for path in TEMPLATES.glob("*.html") for key in _KEY.findall(path.read_text())}
    code = Path(hub.console.__file__).parent
    for path in code.glob("*.py"):
        used |= set(re.findall(r'ConsoleError\(\s*\d+,\s*"([a-z_.]+)"', path.read_text()))
        used |= {key for key in _KEY.findall(path.read_text()) if "." in key}
    assert used
    missing = sorted((used | set(DYNAMIC)) - set(CATALOGUES["vi"]))
    assert missing == []


def test_vietnamese_is_the_default_and_unknown_keys_show_themselves() -> None:
    assert translator("fr")("nav.overview") == "Tổng quan"
    assert translator("en")("nav.overview") == "Overview"
    assert translator("en")("no.such.key") == "no.such.key"
    assert translator("vi").has("nav.audit")


def test_placeholders_match_between_languages() -> None:
    field = re.compile(r"\{(\w+)\}")
    for key, text in CATALOGUES["vi"].items():
        assert set(field.findall(text)) == set(field.findall(CATALOGUES["en"][key])), key
