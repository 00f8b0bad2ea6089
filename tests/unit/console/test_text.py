"""Accent-insensitive search text: the normaliser, and the migration's frozen copy of it."""

from __future__ import annotations

import importlib
import unicodedata

import pytest

from hub.db.text import like_pattern, normalise, search_text, search_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Về việc triển khai CHỮ KÝ SỐ", "ve viec trien khai chu ky so"),
        ("Đống Đa  đường\tđê", "dong da duong de"),
        ("Ủy ban nhân dân", "uy ban nhan dan"),
        ("15/UBND-VP", "15/ubnd-vp"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise(text: str | None, expected: str) -> None:
    assert normalise(text) == expected


def test_composed_and_decomposed_forms_normalise_alike() -> None:
    word = "Thượng"
    assert normalise(unicodedata.normalize("NFC", word)) == normalise(
        unicodedata.normalize("NFD", word)
    )


def test_search_text_joins_the_document_fields() -> None:
    assert search_text("000.00.22.H26,2026/11/20,15/UBND-VP", None, "Ký số") == (
        "000.00.22.h26,2026/11/20,15/ubnd-vp ky so"
    )


def test_search_words_split_and_bound_the_query() -> None:
    assert search_words("  Ký   SỐ ") == ["ky", "so"]
    assert len(search_words(" ".join("abcdefghijk"))) == 8


def test_like_patterns_escape_wildcards() -> None:
    assert like_pattern("100%_x\\") == "%100\\%\\_x\\\\%"


def test_the_migration_fills_the_column_as_the_model_does() -> None:
    migration = importlib.import_module("hub.db.migrations.versions.r0005_console")
    for parts in [
        ("a,2026/01/01,1/UBND", "1/UBND", "Về việc Đống Đa"),
        (None, None, "  ĐẠI   hội  "),
        ("x" * 3000,),
    ]:
        assert migration._search_text(*parts) == search_text(*parts)
