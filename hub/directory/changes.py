"""Change files: dated reorganisations of the directory, read from YAML or CSV.

Nothing here touches the database; :mod:`hub.directory.reorganise` checks the changes against
the directory's history and records them. Both formats give the same :class:`ChangeEntry`
records (UTF-8; a byte order mark is accepted).

YAML — a mapping with a list ``changes`` (a bare list is also accepted)::

    changes:
      - id: hn-2025-van-mieu          # optional; derived from the content when absent
        kind: merge                   # rename | recode | merge | split | dissolve | move |
                                      # create | levels
        effective: 2025-07-01         # a date (the city's midnight, UTC+7) or a date-time
        act: Nghị quyết 1656/NQ-UBTVQH15     # required: the legal act that decided it
        note: ""                      # optional
        from: [000.21.22.H26, 000.24.22.H26] # merge: the agencies that end
        into: 000.01.41.H26           # merge: their successor (split: the successors)
        agencies:                     # agencies the change creates (merge, split, recode,
          - {code: 000.01.41.H26, name: UBND phường Văn Miếu - Quốc Tử Giám, level: 3,
             parent: 000.00.00.H26, channel: inbox}    # create); channel and settings
                                      # default to the first predecessor's
        carry_tokens: false           # the predecessors' API tokens may send for the successor
        illustrative: true            # an invented change (samples, tests)

Per kind: ``rename`` code, name; ``recode`` code, new_code (``agencies`` may describe the new
code); ``merge`` from, into; ``split`` code, into (two or more), in_flight (optional: the
successor that takes what was on its way); ``dissolve`` code or codes, successor (optional);
``move`` code or codes, level and/or parent (``parent: null`` for none); ``create``
agencies; ``levels`` levels (the whole list in force from that date, e.g. three where there
were four).

CSV — a header row naming the columns of :data:`CHANGE_CSV_COLUMNS` (``kind``, ``effective``
and ``act`` required), then one change per row. Lists (``code``, ``from``, ``into``) are codes
separated by spaces; ``settings`` is a JSON object; ``carry_tokens``/``illustrative`` are
true/false; ``parent`` ``-`` means none. A new agency is described by the row's ``name``,
``level``, ``parent``, ``channel``, ``settings`` (``create``: ``code``; ``merge``: ``into``;
``recode``: ``new_code``); a split's new successors are created by ``create`` rows before it.
Consecutive ``levels`` rows of one date (``level``, ``name``) form one list.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edxml.compose import LOCAL_TZ
from hub.channels import Channel
from hub.db.models import AGENCY_CODE_LENGTH, ChangeKind
from hub.directory.formats import (
    DirectoryFormat,
    LevelEntry,
    field_lines_of,
    format_of,
    item_nodes,
    load_yaml_node,
    raise_issues,
)
from hub.errors import DirectoryError, DirectoryIssue

__all__ = [
    "CHANGE_CSV_COLUMNS",
    "ChangeEntry",
    "ChangeFile",
    "LocatedChange",
    "NewAgency",
    "effective_moment",
    "parse_change_csv",
    "parse_change_yaml",
    "parse_changes",
    "read_change_file",
]

CHANGE_CSV_COLUMNS = (
    "id",
    "effective",
    "kind",
    "act",
    "note",
    "code",
    "from",
    "into",
    "new_code",
    "successor",
    "in_flight",
    "name",
    "level",
    "parent",
    "channel",
    "settings",
    "carry_tokens",
    "illustrative",
)
"""Columns of a change CSV file."""

_REQUIRED_CSV_COLUMNS = ("kind", "effective", "act")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_NEW_AGENCY_COLUMNS = ("name", "level", "parent", "channel", "settings")


def _code(value: str) -> str:
    if not _CODE.fullmatch(value) or len(value) > AGENCY_CODE_LENGTH:
        raise ValueError(
            "an agency code is letters, digits, '.', '-' or '_' (e.g. 000.00.12.H26), "
            f"got {value!r}"
        )
    return value


def _codes(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(value.split())
    return value


def effective_moment(value: date | datetime | str) -> datetime:
    """When a change written as ``value`` takes effect, in UTC: a date is the city's midnight
    (UTC+7), a date-time without a zone the city's time.

    Raises:
        ValueError: ``value`` is not a date or an ISO 8601 date-time.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(
                f"write a date (2025-07-01) or a date-time (2025-07-01T00:00:00+07:00), "
                f"not {text!r}"
            ) from exc
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), LOCAL_TZ)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class NewAgency(_Strict):
    """An agency a change brings into being."""

    code: str = Field(min_length=1, max_length=AGENCY_CODE_LENGTH, strict=True)
    name: str = Field(min_length=1, max_length=255)
    level: int = Field(ge=1, le=99)
    parent: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH, strict=True)
    channel: Channel | None = None
    """None: the channel (and settings) of the first agency it succeeds."""
    settings: dict[str, Any] | None = None
    active: bool = True
    illustrative: bool = False

    @field_validator("code", "parent")
    @classmethod
    def _valid_code(cls, value: str | None) -> str | None:
        return None if value is None else _code(value)

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class ChangeEntry(_Strict):
    """One dated change as written in a change file."""

    id: str | None = Field(default=None, max_length=64)
    kind: ChangeKind
    effective: datetime
    """When it takes effect, in UTC (see :func:`effective_moment`)."""
    act: str = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=4000)
    code: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH)
    codes: tuple[str, ...] = ()
    from_: tuple[str, ...] = Field(default=(), alias="from")
    into: tuple[str, ...] = ()
    new_code: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH)
    successor: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH)
    in_flight: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    level: int | None = Field(default=None, ge=1, le=99)
    parent: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH)
    agencies: tuple[NewAgency, ...] = ()
    levels: tuple[LevelEntry, ...] = ()
    carry_tokens: bool = False
    illustrative: bool = False

    @field_validator("id")
    @classmethod
    def _valid_key(cls, value: str | None) -> str | None:
        if value is not None and not _KEY.fullmatch(value):
            raise ValueError("an id is letters, digits, '.', ':', '-' or '_'")
        return value

    @field_validator("effective", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if isinstance(value, date | datetime | str):
            return effective_moment(value)
        return value

    @field_validator("act", "note", "name", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("codes", "from_", "into", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _codes(value)

    @field_validator("code", "new_code", "successor", "in_flight", "parent")
    @classmethod
    def _one_code(cls, value: str | None) -> str | None:
        return None if value is None else _code(value)

    @field_validator("codes", "from_", "into")
    @classmethod
    def _many_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_code(code) for code in value))

    @property
    def subjects(self) -> tuple[str, ...]:
        """The existing agencies a rename, recode, split, dissolve or move is about."""
        return tuple(dict.fromkeys(([self.code] if self.code else []) + list(self.codes)))

    @property
    def parent_given(self) -> bool:
        """Whether the change sets a parent (``parent: null`` sets none)."""
        return "parent" in self.model_fields_set

    def fingerprint(self) -> str:
        """SHA-256 of the change as given (its id aside)."""
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True, exclude={"id"}, exclude_defaults=True)
            | {"parent_given": self.parent_given},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def key(self) -> str:
        """Its id, or one derived from its content (the same change gives the same key)."""
        return self.id or f"change-{self.fingerprint()[:16]}"

    def rule_issues(self) -> list[tuple[str, str]]:
        """What the change's kind requires and forbids: (field, problem) pairs."""
        return _RULES[self.kind](self)


def _needs(entry: ChangeEntry, *names: str) -> list[tuple[str, str]]:
    found = []
    for name in names:
        value = getattr(entry, "from_" if name == "from" else name)
        if value is None or value == ():
            found.append((name, f"a {entry.kind.value} change needs '{name}'"))
    return found


def _forbids(entry: ChangeEntry, *names: str) -> list[tuple[str, str]]:
    found = []
    for name in names:
        attribute = "from_" if name == "from" else name
        if name == "parent":
            if entry.parent_given:
                found.append((name, f"a {entry.kind.value} change has no '{name}'"))
            continue
        value = getattr(entry, attribute)
        if value not in (None, (), False):
            found.append((name, f"a {entry.kind.value} change has no '{name}'"))
    return found


_ALL = (
    "code",
    "codes",
    "from",
    "into",
    "new_code",
    "successor",
    "in_flight",
    "name",
    "level",
    "parent",
    "agencies",
    "levels",
    "carry_tokens",
)


def _only(entry: ChangeEntry, *allowed: str) -> list[tuple[str, str]]:
    return _forbids(entry, *(name for name in _ALL if name not in allowed))


def _rename(entry: ChangeEntry) -> list[tuple[str, str]]:
    return [*_needs(entry, "code", "name"), *_only(entry, "code", "name")]


def _recode(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = [
        *_needs(entry, "code", "new_code"),
        *_only(entry, "code", "new_code", "agencies", "carry_tokens"),
    ]
    if entry.code is not None and entry.code == entry.new_code:
        found.append(("new_code", "the new code is the old one"))
    if len(entry.agencies) > 1 or any(item.code != entry.new_code for item in entry.agencies):
        found.append(("agencies", "a recode describes only its new code under 'agencies'"))
    return found


def _merge(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = [
        *_needs(entry, "from", "into"),
        *_only(entry, "from", "into", "agencies", "carry_tokens"),
    ]
    if len(entry.into) > 1:
        found.append(("into", "a merge has one successor; a split has several"))
    if set(entry.into) & set(entry.from_):
        found.append(("into", "the successor cannot be one of the agencies that end"))
    if any(item.code not in entry.into for item in entry.agencies):
        found.append(("agencies", "a merge describes only its successor under 'agencies'"))
    return found


def _split(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = [
        *_needs(entry, "code", "into"),
        *_only(entry, "code", "into", "in_flight", "agencies", "carry_tokens"),
    ]
    if 0 < len(entry.into) < 2:
        found.append(("into", "a split has two successors or more; one is a merge or recode"))
    if entry.code is not None and entry.code in entry.into:
        found.append(("into", "the agency that ends cannot be its own successor"))
    if entry.in_flight is not None and entry.in_flight not in entry.into:
        found.append(("in_flight", f"{entry.in_flight} is not one of the successors"))
    if any(item.code not in entry.into for item in entry.agencies):
        found.append(("agencies", "a split describes only its successors under 'agencies'"))
    return found


def _dissolve(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = _only(entry, "code", "codes", "successor", "carry_tokens")
    if not entry.subjects:
        found.append(("code", "a dissolve change needs 'code' or 'codes'"))
    if entry.successor is not None and entry.successor in entry.subjects:
        found.append(("successor", "an agency that ends cannot be the successor"))
    if entry.carry_tokens and entry.successor is None:
        found.append(("carry_tokens", "tokens can only be carried to a successor"))
    return found


def _move(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = _only(entry, "code", "codes", "level", "parent")
    if not entry.subjects:
        found.append(("code", "a move change needs 'code' or 'codes'"))
    if entry.level is None and not entry.parent_given:
        found.append(("level", "a move change sets 'level', 'parent' or both"))
    if entry.parent is not None and entry.parent in entry.subjects:
        found.append(("parent", "an agency cannot be its own parent"))
    return found


def _create(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = [*_needs(entry, "agencies"), *_only(entry, "agencies")]
    found.extend(
        ("agencies", f"{item.code}: a created agency needs its 'channel'")
        for item in entry.agencies
        if item.channel is None
    )
    return found


def _levels(entry: ChangeEntry) -> list[tuple[str, str]]:
    found = [*_needs(entry, "levels"), *_only(entry, "levels")]
    numbers = [level.level for level in entry.levels]
    if len(set(numbers)) != len(numbers):
        found.append(("levels", "a level is listed twice"))
    return found


_RULES = {
    ChangeKind.RENAME: _rename,
    ChangeKind.RECODE: _recode,
    ChangeKind.MERGE: _merge,
    ChangeKind.SPLIT: _split,
    ChangeKind.DISSOLVE: _dissolve,
    ChangeKind.MOVE: _move,
    ChangeKind.CREATE: _create,
    ChangeKind.LEVELS: _levels,
}


@dataclass(frozen=True)
class LocatedChange:
    """A change with where it was found, so that issues can point at it."""

    entry: ChangeEntry
    record: int
    line: int | None
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, name: str | None) -> int | None:
        """The line of a field, falling back to the line of the record."""
        if name is None:
            return self.line
        return self.field_lines.get(name, self.line)

    def issue(self, source: str, field_name: str | None, message: str) -> DirectoryIssue:
        """An issue of this change."""
        return DirectoryIssue(
            source=source,
            line=self.line_of(field_name),
            record=self.record,
            agency=self.entry.key,
            field=field_name,
            message=message,
            subject="change",
        )


@dataclass(frozen=True)
class ChangeFile:
    """A parsed change file whose changes are each valid on their own."""

    source: str
    changes: tuple[LocatedChange, ...]

    def entries(self) -> tuple[ChangeEntry, ...]:
        """The changes without locations."""
        return tuple(item.entry for item in self.changes)


def read_change_file(path: Path, file_format: DirectoryFormat | None = None) -> ChangeFile:
    """Read and parse a change file.

    Raises:
        DirectoryError: the file cannot be read or holds invalid changes.
    """
    chosen = file_format or format_of(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_changes(raw, chosen, source=path.name)


def parse_changes(
    raw: bytes | str, file_format: DirectoryFormat, *, source: str = "<input>"
) -> ChangeFile:
    """Parse change text (UTF-8, with or without a byte order mark).

    Raises:
        DirectoryError: the text is not UTF-8, not YAML/CSV, or holds invalid changes.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DirectoryError(
                f"{source} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
            ) from exc
    else:
        text = raw.removeprefix("\ufeff")
    if file_format == "yaml":
        return parse_change_yaml(text, source=source)
    return parse_change_csv(text, source=source)


def parse_change_yaml(text: str, *, source: str = "<input>") -> ChangeFile:
    """Parse a YAML change file: a mapping with ``changes``, or a bare list.

    Raises:
        DirectoryError: invalid YAML, an unexpected shape, or invalid changes.
    """
    node, document = load_yaml_node(text, source)
    listed_node: yaml.Node | None = node
    listed: Any = document
    if isinstance(document, dict):
        assert isinstance(node, yaml.MappingNode)
        unknown = [str(key) for key in document if key != "changes"]
        if unknown:
            raise DirectoryError(
                f"{source}: unknown top-level key(s) {', '.join(unknown)}: expected 'changes'"
            )
        listed = document.get("changes") or []
        listed_node = next(
            (value for key, value in node.value if getattr(key, "value", None) == "changes"),
            None,
        )
    if listed is None:
        listed = []
    if not isinstance(listed, list):
        raise DirectoryError(f"{source}: expected a list of changes, or a mapping with 'changes'")
    issues: list[DirectoryIssue] = []
    changes: list[LocatedChange] = []
    for index, (item, item_node) in enumerate(
        zip(listed, item_nodes(listed_node, len(listed)), strict=True), start=1
    ):
        line = item_node.start_mark.line + 1 if item_node is not None else None
        if not isinstance(item, dict):
            issues.append(_issue(source, line, index, None, None, "a change must be a mapping"))
            continue
        given = dict(item)
        if "agency" in given:
            given["agencies"] = [given.pop("agency"), *given.get("agencies", [])]
        _validate(given, index, line, field_lines_of(item_node), source, changes, issues)
    raise_issues(issues, source)
    return ChangeFile(source=source, changes=tuple(changes))


def parse_change_csv(text: str, *, source: str = "<input>") -> ChangeFile:
    """Parse a CSV change file: a header row, then one change per row.

    Raises:
        DirectoryError: missing or unknown columns, or invalid changes.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="")
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [name for name in _REQUIRED_CSV_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CHANGE_CSV_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise DirectoryError(
            f"{source}: bad header row",
            [
                _issue(
                    source,
                    1,
                    None,
                    None,
                    None,
                    f"{'; '.join(problems)}; columns: {', '.join(CHANGE_CSV_COLUMNS)}",
                )
            ],
        )
    issues: list[DirectoryIssue] = []
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for index, row in enumerate(reader, start=1):
        line = reader.line_num
        if None in row:
            issues.append(_issue(source, line, index, None, None, "more cells than columns"))
            continue
        cells = {name: cell.strip() for name, cell in row.items() if cell.strip()}
        try:
            rows.append((index, line, _from_cells(cells)))
        except ValueError as exc:
            issues.append(_issue(source, line, index, cells.get("id"), "settings", str(exc)))
    changes: list[LocatedChange] = []
    for index, line, given in _grouped_levels(rows):
        _validate(given, index, line, {}, source, changes, issues)
    raise_issues(issues, source)
    return ChangeFile(source=source, changes=tuple(changes))


def _from_cells(cells: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row as the mapping a YAML change would be.

    Raises:
        ValueError: the ``settings`` cell is not JSON.
    """
    plain = ("id", "kind", "effective", "act", "note", "successor", "in_flight", "new_code")
    given: dict[str, Any] = {
        name: cells[name] for name in (*plain, "from", "into") if name in cells
    }
    for flag in ("carry_tokens", "illustrative"):
        if flag in cells:
            given[flag] = cells[flag].lower()
    described: dict[str, Any] = {name: cells[name] for name in _NEW_AGENCY_COLUMNS if name in cells}
    if "settings" in described:
        try:
            described["settings"] = json.loads(described["settings"])
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"settings: not valid JSON ({exc.msg} at column {exc.colno}): "
                'write a JSON object such as {"url": "https://..."}'
            ) from exc
    if described.get("parent") == "-":
        described["parent"] = None
    if "illustrative" in cells:
        described["illustrative"] = cells["illustrative"].lower()
    kind = cells.get("kind", "")
    codes = cells.get("code", "").split()
    if kind == "create":
        given["agencies"] = [{"code": cells.get("code"), **described}]
        return given
    if kind == "levels":
        given["levels"] = [{"level": cells.get("level"), "name": cells.get("name")}]
        return given
    described.pop("illustrative", None)
    new_code = {"merge": cells.get("into"), "recode": cells.get("new_code")}.get(kind)
    if new_code is not None and described:
        if "illustrative" in cells:
            described["illustrative"] = cells["illustrative"].lower()
        given["agencies"] = [{"code": new_code, **described}]
    elif kind == "move":
        if "level" in cells:
            given["level"] = cells["level"]
        if "parent" in cells:
            given["parent"] = described.get("parent")
    else:
        given.update(described)
    if len(codes) > 1 and kind in ("dissolve", "move"):
        given["codes"] = codes
    elif codes:
        given["code"] = cells["code"]
    return given


def _grouped_levels(
    rows: Sequence[tuple[int, int, dict[str, Any]]],
) -> list[tuple[int, int, dict[str, Any]]]:
    """Consecutive ``levels`` rows of one date and act folded into one change."""
    grouped: list[tuple[int, int, dict[str, Any]]] = []
    for index, line, given in rows:
        if grouped and given.get("kind") == "levels":
            _, _, last = grouped[-1]
            same = all(last.get(name) == given.get(name) for name in ("kind", "effective", "act"))
            if same and not given.get("id"):
                last["levels"] = [*last["levels"], *given["levels"]]
                continue
        grouped.append((index, line, given))
    return grouped


def _validate(
    given: Mapping[str, Any],
    index: int,
    line: int | None,
    field_lines: Mapping[str, int],
    source: str,
    changes: list[LocatedChange],
    issues: list[DirectoryIssue],
) -> None:
    key = given.get("id") if isinstance(given.get("id"), str) else None
    try:
        entry = ChangeEntry.model_validate(
            {name: value for name, value in given.items() if value is not None or name == "parent"}
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            name = "from" if loc and loc[0] == "from_" else (loc[0] if loc else None)
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden" and len(loc) > 1:
                message = "unknown field (a value with a comma needs quotes in YAML)"
            elif error["type"] == "extra_forbidden":
                message = f"unknown field; fields are: {', '.join(CHANGE_CSV_COLUMNS)}"
            elif error["type"] == "missing":
                message = "required field is missing"
            where = ".".join(["from" if part == "from_" else part for part in loc]) or None
            issues.append(
                _issue(source, field_lines.get(name or "", line), index, key, where, message)
            )
        return
    located = LocatedChange(entry=entry, record=index, line=line, field_lines=field_lines)
    issues.extend(located.issue(source, name, problem) for name, problem in entry.rule_issues())
    changes.append(located)


def _issue(
    source: str,
    line: int | None,
    record: int | None,
    key: str | None,
    field_name: str | None,
    message: str,
) -> DirectoryIssue:
    return DirectoryIssue(
        source=source,
        line=line,
        record=record,
        agency=key,
        field=field_name,
        message=message,
        subject="change",
    )
