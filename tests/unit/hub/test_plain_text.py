"""Text no database can hold is named for what it holds; ordinary Vietnamese passes."""

from __future__ import annotations

import pytest

from hub.api.params import text_fault


@pytest.mark.parametrize("text", ["", "Về việc triển khai", "000.00.00.G22,2015/09/30,7816", "😀"])
def test_ordinary_text_has_no_fault(text: str) -> None:
    assert text_fault(text) is None


def test_a_nul_is_named() -> None:
    assert text_fault("a\x00b") == "a NUL character (U+0000)"


@pytest.mark.parametrize("text", ["\ud800", "x\udfffy"])
def test_a_lone_surrogate_is_named(text: str) -> None:
    fault = text_fault(text)

    assert fault is not None
    assert "surrogate" in fault
