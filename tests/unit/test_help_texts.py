"""Every command's --help reads as plain text and says what the command is for."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from hub.cli import build_parser, main
from simulators.cli import main as sim_main

_MARKUP = ("``", ":mod:", ":class:", ":func:")


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_parsers(child))
    return found


def test_every_lienthong_command_has_a_description_without_markup() -> None:
    for parser in _parsers(build_parser()):
        assert parser.description, parser.prog
        assert not any(mark in parser.format_help() for mark in _MARKUP), parser.prog


def test_a_group_named_without_a_command_shows_its_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["directory"]) == 2
    shown = capsys.readouterr().err
    assert "Agency directory files." in shown
    assert "import" in shown
    assert "export" in shown


@pytest.mark.parametrize(
    "command", [[], ["demo"], ["packets"], ["axis"], ["conformance"], ["scenario"]]
)
def test_lienthong_sim_help_has_no_markup(command: list[str]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        sim_main([*command, "--help"])
    assert out.getvalue().strip()
    assert not any(mark in out.getvalue() for mark in _MARKUP)
