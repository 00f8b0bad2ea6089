"""The agency directory: who the hub knows, at which level, under whom, reached how.

Routing looks every recipient code up here; levels and parents come from the data, never from
the shape of a code, so a city with two levels or five works the same.

File formats (UTF-8; a byte order mark is accepted), both read by ``lienthong directory
import`` and written by ``lienthong directory export``:

YAML — a mapping with two lists (a bare list of agencies is also accepted)::

    levels:                         # optional when the levels are already stored
      - {level: 1, name: Trung ương}
      - {level: 2, name: Thành phố}
    agencies:
      - code: 000.00.00.H26         # required; letters, digits, '.', '-', '_'; up to 64
        name: UBND Thành phố Hà Nội # required
        level: 2                    # required; a declared level (1 = top)
        level_name: Thành phố       # optional; declares the level in passing
        parent: null                # optional; a code in this file or already stored
        channel: webhook            # required; inbox | webhook | amqp | axis | hub
        settings: {url: "http://127.0.0.1:9101/edxml"}   # optional; channel settings (JSON)
        active: true                # optional, default true
        illustrative: false         # optional, default false; true = invented code/agency
        may_send_for: []            # optional; codes this agency may send on behalf of

CSV — a header row naming the columns ``code, name, level, level_name, parent, channel,
settings, active, illustrative, may_send_for`` (``code``, ``name``, ``level`` and ``channel``
required, the rest optional, any order), then one agency per row. Empty cells take the
defaults; ``settings`` is a JSON object; ``active``/``illustrative`` are true/false;
``may_send_for`` is codes separated by spaces; ``level_name`` declares the level's name.

Import is an upsert: agencies in the file are created or updated, agencies absent from the
file are left alone, and importing the same file again changes nothing. A file is checked as
a whole before anything is written; every problem is reported with its line, agency and
field: invalid values, duplicate codes, undeclared levels, unknown parents, parent cycles.

The directory changes over time: dated changes (:mod:`hub.directory.changes`) rename, re-code,
merge, split, dissolve and move agencies and redraw the levels; they are recorded with their
act (:mod:`hub.directory.reorganise`), kept as versions (:mod:`hub.directory.history`),
followed by routing (:mod:`hub.directory.succession`, :mod:`hub.directory.retarget`) and read
back as the structure of any date (:mod:`hub.directory.structure`).
"""

from __future__ import annotations

from pathlib import Path

from hub.directory.changes import ChangeEntry, ChangeFile, parse_changes, read_change_file
from hub.directory.formats import (
    CSV_COLUMNS,
    AgencyEntry,
    DirectoryData,
    DirectoryFile,
    DirectoryFormat,
    KnownDirectory,
    LevelEntry,
    LocatedAgency,
    check_directory,
    dump_csv,
    dump_directory,
    dump_yaml,
    format_of,
    parse_csv,
    parse_directory,
    parse_yaml,
    read_directory_file,
)
from hub.directory.info import AGENCY_COLUMNS, AgencyInfo
from hub.directory.store import (
    ImportReport,
    Resolution,
    children,
    export_directory,
    find_agency,
    get_agency,
    import_directory,
    may_send_for,
    resolve,
)
from hub.directory.succession import Succession, follow
from hub.errors import NotFoundError

__all__ = [
    "AGENCY_COLUMNS",
    "CSV_COLUMNS",
    "SAMPLE_CHANGES",
    "SAMPLE_DIRECTORIES",
    "AgencyEntry",
    "AgencyInfo",
    "ChangeEntry",
    "ChangeFile",
    "DirectoryData",
    "DirectoryFile",
    "DirectoryFormat",
    "ImportReport",
    "KnownDirectory",
    "LevelEntry",
    "LocatedAgency",
    "Resolution",
    "Succession",
    "check_directory",
    "children",
    "dump_csv",
    "dump_directory",
    "dump_yaml",
    "export_directory",
    "find_agency",
    "follow",
    "format_of",
    "get_agency",
    "import_directory",
    "may_send_for",
    "parse_changes",
    "parse_csv",
    "parse_directory",
    "parse_yaml",
    "read_change_file",
    "read_directory_file",
    "resolve",
    "sample_changes",
    "sample_directory",
]

SAMPLE_DIRECTORIES = {"hanoi": "hanoi.yaml"}
"""Sample directories shipped in ``hub/data``, by the name the CLI accepts."""
SAMPLE_CHANGES = {"hanoi-2025": "hanoi-2025.yaml"}
"""Sample change files shipped in ``hub/data``, by the name the CLI accepts."""

_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def sample_directory(name: str) -> Path:
    """The shipped sample directory file called ``name`` (see :data:`SAMPLE_DIRECTORIES`).

    Raises:
        NotFoundError: no sample has this name.
    """
    if name not in SAMPLE_DIRECTORIES:
        known = ", ".join(sorted(SAMPLE_DIRECTORIES))
        raise NotFoundError(f"no sample directory {name!r}; samples: {known}")
    return _DATA_DIR / SAMPLE_DIRECTORIES[name]


def sample_changes(name: str) -> Path:
    """The shipped sample change file called ``name`` (see :data:`SAMPLE_CHANGES`).

    Raises:
        NotFoundError: no sample has this name.
    """
    if name not in SAMPLE_CHANGES:
        known = ", ".join(sorted(SAMPLE_CHANGES))
        raise NotFoundError(f"no sample change file {name!r}; samples: {known}")
    return _DATA_DIR / SAMPLE_CHANGES[name]
