"""Directory files: read YAML and CSV into checked records, write them back, find every mistake.

Nothing here touches the database: :func:`check_directory` takes what the database already
holds as plain mappings, so every validation rule is testable on its own. The formats are
described in :mod:`hub.directory`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.channels import Channel
from hub.db.models import AGENCY_CODE_LENGTH
from hub.errors import DirectoryError, DirectoryIssue

__all__ = [
    "CSV_COLUMNS",
    "AgencyEntry",
    "DirectoryData",
    "DirectoryFile",
    "DirectoryFormat",
    "KnownDirectory",
    "LevelEntry",
    "LocatedAgency",
    "check_directory",
    "dump_csv",
    "dump_directory",
    "dump_yaml",
    "field_lines_of",
    "format_of",
    "item_nodes",
    "load_yaml_node",
    "parse_csv",
    "parse_directory",
    "parse_yaml",
    "raise_issues",
    "read_directory_file",
]

DirectoryFormat = Literal["yaml", "csv"]

CSV_COLUMNS = (
    "code",
    "name",
    "level",
    "level_name",
    "parent",
    "channel",
    "settings",
    "active",
    "illustrative",
    "may_send_for",
)
"""Columns of a directory CSV file, in the order export writes them."""

_REQUIRED_CSV_COLUMNS = ("code", "name", "level", "channel")
_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_YAML_TOP_KEYS = frozenset({"levels", "agencies"})
_MAX_REPORTED_ISSUES = 200


def _check_code(value: str) -> str:
    if not _CODE_PATTERN.fullmatch(value):
        raise ValueError(
            "an agency code is letters, digits, '.', '-' or '_' (e.g. 000.00.12.H26), "
            f"got {value!r}"
        )
    return value


class LevelEntry(BaseModel):
    """An administrative level as declared in a directory file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: int = Field(ge=1, le=99)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name", mode="before")
    @classmethod
    def _strip_name(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class AgencyEntry(BaseModel):
    """One agency as written in a directory file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=AGENCY_CODE_LENGTH, strict=True)
    name: str = Field(min_length=1, max_length=255)
    level: int = Field(ge=1, le=99)
    level_name: str | None = Field(default=None, max_length=100)
    parent: str | None = Field(default=None, max_length=AGENCY_CODE_LENGTH, strict=True)
    channel: Channel
    settings: dict[str, Any] = Field(default_factory=dict)
    active: bool = True
    illustrative: bool = False
    may_send_for: tuple[str, ...] = ()

    @field_validator("name", "level_name", mode="before")
    @classmethod
    def _strip_text(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("code", "parent")
    @classmethod
    def _valid_code(cls, value: str | None) -> str | None:
        return None if value is None else _check_code(value)

    @field_validator("may_send_for", mode="before")
    @classmethod
    def _split_codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(value.split())
        return value

    @field_validator("may_send_for")
    @classmethod
    def _valid_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_check_code(code) for code in value))

    @field_validator("settings")
    @classmethod
    def _json_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(json.loads(json.dumps(value)))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"channel settings must hold only JSON values (text, numbers, lists): {exc}"
            ) from exc


@dataclass(frozen=True)
class DirectoryData:
    """A whole directory: its levels and its agencies, in file order."""

    levels: tuple[LevelEntry, ...]
    agencies: tuple[AgencyEntry, ...]


@dataclass(frozen=True)
class LocatedAgency:
    """An agency entry with where it was found, so that issues can point at it."""

    entry: AgencyEntry
    record: int
    line: int | None
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, name: str | None) -> int | None:
        """The line of a field, falling back to the line of the record."""
        if name is None:
            return self.line
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True)
class DirectoryFile:
    """A parsed directory file whose records are each valid on their own."""

    source: str
    levels: tuple[LevelEntry, ...]
    agencies: tuple[LocatedAgency, ...]

    def data(self) -> DirectoryData:
        """The file's content without locations."""
        return DirectoryData(
            levels=self.levels, agencies=tuple(item.entry for item in self.agencies)
        )


@dataclass(frozen=True)
class KnownDirectory:
    """What the database already holds, as far as checking a file needs it."""

    parents: Mapping[str, str | None] = field(default_factory=dict)
    """Parent of every agency code already stored."""
    levels: Mapping[int, str] = field(default_factory=dict)
    """Name of every level already stored."""


def format_of(path: Path) -> DirectoryFormat:
    """The directory format a file name implies.

    Raises:
        DirectoryError: the suffix is neither ``.yaml``/``.yml`` nor ``.csv``.
    """
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix == ".csv":
        return "csv"
    raise DirectoryError(
        f"cannot tell the format of {path.name!r}: name it .yaml or .csv, or give --format"
    )


def read_directory_file(path: Path, file_format: DirectoryFormat | None = None) -> DirectoryFile:
    """Read and parse a directory file.

    Raises:
        DirectoryError: the file cannot be read or holds invalid records.
    """
    chosen = file_format or format_of(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_directory(raw, chosen, source=path.name)


def parse_directory(
    raw: bytes | str, file_format: DirectoryFormat, *, source: str = "<input>"
) -> DirectoryFile:
    """Parse directory text (UTF-8, with or without a byte order mark).

    Raises:
        DirectoryError: the text is not UTF-8, not YAML/CSV, or holds invalid records.
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
        return parse_yaml(text, source=source)
    return parse_csv(text, source=source)


def parse_yaml(text: str, *, source: str = "<input>") -> DirectoryFile:
    """Parse a YAML directory: a mapping with ``levels`` and ``agencies``, or a bare list.

    Raises:
        DirectoryError: invalid YAML, an unexpected shape, or invalid records.
    """
    node, document = load_yaml_node(text, source)
    issues: list[DirectoryIssue] = []
    level_node: yaml.Node | None = None
    agency_node: yaml.Node | None = node
    raw_levels: Any = []
    raw_agencies: Any = document
    if isinstance(document, dict):
        assert isinstance(node, yaml.MappingNode)
        value_nodes = {
            key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)
        }
        key_lines = field_lines_of(node)
        for key in document:
            if key not in _YAML_TOP_KEYS:
                issues.append(
                    _issue(
                        source,
                        key_lines.get(str(key)),
                        field=str(key),
                        message="unknown top-level key: expected 'levels' and 'agencies'",
                    )
                )
        raw_levels = document.get("levels") or []
        raw_agencies = document.get("agencies")
        level_node = value_nodes.get("levels")
        agency_node = value_nodes.get("agencies")
    if raw_agencies is None:
        raw_agencies = []
    if not isinstance(raw_agencies, list):
        raise DirectoryError(
            f"{source}: expected a list of agencies, or a mapping with 'levels' and 'agencies'"
        )
    if not isinstance(raw_levels, list):
        raise DirectoryError(f"{source}: 'levels' must be a list of {{level, name}} entries")

    levels = _parse_yaml_levels(raw_levels, item_nodes(level_node, len(raw_levels)), source, issues)
    agencies: list[LocatedAgency] = []
    for index, (raw, item_node) in enumerate(
        zip(raw_agencies, item_nodes(agency_node, len(raw_agencies)), strict=True), start=1
    ):
        line = item_node.start_mark.line + 1 if item_node is not None else None
        field_lines = field_lines_of(item_node)
        if not isinstance(raw, dict):
            issues.append(
                _issue(source, line, index, message="an agency must be a mapping of fields")
            )
            continue
        _validate_agency(raw, index, line, field_lines, source, agencies, issues)
    levels = _merge_level_names(levels, agencies, source, issues)
    raise_issues(issues, source)
    return DirectoryFile(source=source, levels=levels, agencies=_without_level_names(agencies))


def parse_csv(text: str, *, source: str = "<input>") -> DirectoryFile:
    """Parse a CSV directory: a header row, then one agency per row.

    Raises:
        DirectoryError: missing or unknown columns, or invalid records.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="")
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [name for name in _REQUIRED_CSV_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
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
                    source, 1, message=f"{'; '.join(problems)}; columns: {', '.join(CSV_COLUMNS)}"
                )
            ],
        )
    issues: list[DirectoryIssue] = []
    agencies: list[LocatedAgency] = []
    for index, row in enumerate(reader, start=1):
        line = reader.line_num
        if None in row:
            issues.append(_issue(source, line, index, message="more cells than columns"))
            continue
        raw = {name: cell.strip() for name, cell in row.items() if cell.strip()}
        if "settings" in raw:
            try:
                raw["settings"] = json.loads(raw["settings"])
            except json.JSONDecodeError as exc:
                issues.append(
                    _issue(
                        source,
                        line,
                        index,
                        raw.get("code"),
                        "settings",
                        f"not valid JSON ({exc.msg} at column {exc.colno}): "
                        'write a JSON object such as {"url": "https://..."}',
                    )
                )
                continue
        _validate_agency(raw, index, line, {}, source, agencies, issues)
    levels = _merge_level_names((), agencies, source, issues)
    raise_issues(issues, source)
    return DirectoryFile(source=source, levels=levels, agencies=_without_level_names(agencies))


def check_directory(
    directory: DirectoryFile, known: KnownDirectory | None = None
) -> list[DirectoryIssue]:
    """Problems that only show across records: duplicates, unknown levels/parents, cycles."""
    known = known or KnownDirectory()
    source = directory.source
    issues: list[DirectoryIssue] = []
    first_seen: dict[str, LocatedAgency] = {}
    for item in directory.agencies:
        code = item.entry.code
        if code in first_seen:
            earlier = first_seen[code]
            where = f"agency #{earlier.record}" + (
                f" (line {earlier.line})" if earlier.line else ""
            )
            issues.append(_agency_issue(source, item, "code", f"duplicate code: {where}"))
        else:
            first_seen[code] = item

    declared_levels = {level.level for level in directory.levels} | set(known.levels)
    file_codes = set(first_seen)
    for item in directory.agencies:
        entry = item.entry
        if entry.level not in declared_levels:
            issues.append(
                _agency_issue(
                    source,
                    item,
                    "level",
                    f"level {entry.level} is not declared: list it under 'levels' "
                    "or give its 'level_name'",
                )
            )
        if entry.parent is not None and entry.parent not in file_codes | set(known.parents):
            issues.append(
                _agency_issue(
                    source,
                    item,
                    "parent",
                    f"unknown parent {entry.parent!r}: not in this file nor in the directory",
                )
            )
        for principal in entry.may_send_for:
            if principal == entry.code:
                issues.append(
                    _agency_issue(source, item, "may_send_for", "an agency always sends for itself")
                )
            elif principal not in file_codes | set(known.parents):
                issues.append(
                    _agency_issue(
                        source,
                        item,
                        "may_send_for",
                        f"unknown agency {principal!r}: not in this file nor in the directory",
                    )
                )
    issues.extend(_cycle_issues(directory, first_seen, known))
    return issues


def dump_directory(data: DirectoryData, file_format: DirectoryFormat) -> str:
    """The directory as YAML or CSV text."""
    return dump_yaml(data) if file_format == "yaml" else dump_csv(data)


def dump_yaml(data: DirectoryData) -> str:
    """The directory as a YAML document that :func:`parse_yaml` reads back unchanged."""
    document = {
        "levels": [{"level": level.level, "name": level.name} for level in data.levels],
        "agencies": [_yaml_agency(entry) for entry in data.agencies],
    }
    header = "# lienthong agency directory: load it with `lienthong directory import FILE`\n"
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    return header + body


def dump_csv(data: DirectoryData) -> str:
    """The directory as CSV text that :func:`parse_csv` reads back unchanged."""
    names = {level.level: level.name for level in data.levels}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in data.agencies:
        writer.writerow(
            {
                "code": entry.code,
                "name": entry.name,
                "level": entry.level,
                "level_name": names.get(entry.level, entry.level_name or ""),
                "parent": entry.parent or "",
                "channel": entry.channel.value,
                "settings": (
                    json.dumps(entry.settings, ensure_ascii=False, sort_keys=True)
                    if entry.settings
                    else ""
                ),
                "active": "true" if entry.active else "false",
                "illustrative": "true" if entry.illustrative else "false",
                "may_send_for": " ".join(entry.may_send_for),
            }
        )
    return buffer.getvalue()


def _yaml_agency(entry: AgencyEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"code": entry.code, "name": entry.name, "level": entry.level}
    if entry.parent is not None:
        item["parent"] = entry.parent
    item["channel"] = entry.channel.value
    if entry.settings:
        item["settings"] = entry.settings
    if not entry.active:
        item["active"] = False
    if entry.illustrative:
        item["illustrative"] = True
    if entry.may_send_for:
        item["may_send_for"] = list(entry.may_send_for)
    return item


def load_yaml_node(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The YAML text's node tree (for line numbers) and its Python value.

    Raises:
        DirectoryError: the text is not valid YAML (with the line of the problem).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise DirectoryError(
            f"{source} is not valid YAML", [_issue(source, line, message=str(problem))]
        ) from exc
    finally:
        loader.dispose()
    return node, document


def item_nodes(node: yaml.Node | None, count: int) -> list[yaml.Node | None]:
    """The nodes of a sequence's ``count`` items (None each when the node is not one)."""
    if isinstance(node, yaml.SequenceNode) and len(node.value) == count:
        return list(node.value)
    return [None] * count


def field_lines_of(node: yaml.Node | None) -> dict[str, int]:
    """The line of each key of a mapping node."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): key.start_mark.line + 1
        for key, _value in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _parse_yaml_levels(
    raw_levels: Sequence[Any],
    nodes: Sequence[yaml.Node | None],
    source: str,
    issues: list[DirectoryIssue],
) -> tuple[LevelEntry, ...]:
    levels: dict[int, LevelEntry] = {}
    for index, (raw, node) in enumerate(zip(raw_levels, nodes, strict=True), start=1):
        line = node.start_mark.line + 1 if node is not None else None
        try:
            level = LevelEntry.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"])
                message = error["msg"]
                if error["type"] == "extra_forbidden":
                    message = (
                        "unknown field; a level has 'level' and 'name' (quote a name with commas)"
                    )
                issues.append(
                    _issue(source, line, field=f"levels[{index}].{name}", message=message)
                )
            continue
        if level.level in levels:
            issues.append(
                _issue(
                    source,
                    line,
                    field=f"levels[{index}].level",
                    message=f"level {level.level} is declared twice",
                )
            )
            continue
        levels[level.level] = level
    return tuple(levels.values())


def _validate_agency(
    raw: Mapping[str, Any],
    index: int,
    line: int | None,
    field_lines: Mapping[str, int],
    source: str,
    agencies: list[LocatedAgency],
    issues: list[DirectoryIssue],
) -> None:
    code = raw.get("code") if isinstance(raw.get("code"), str) else None
    given = {name: value for name, value in raw.items() if value is not None}
    try:
        entry = AgencyEntry.model_validate(given)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else None
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = f"unknown field; fields are: {', '.join(CSV_COLUMNS)}"
            elif error["type"] == "missing":
                message = "required field is missing"
            elif name in {"code", "parent"} and error["type"] == "string_type":
                message = "an agency code must be text: put it in quotes"
            issues.append(
                DirectoryIssue(
                    source=source,
                    line=field_lines.get(name, line) if name else line,
                    record=index,
                    agency=code,
                    field=name,
                    message=message,
                )
            )
        return
    agencies.append(LocatedAgency(entry=entry, record=index, line=line, field_lines=field_lines))


def _without_level_names(agencies: Sequence[LocatedAgency]) -> tuple[LocatedAgency, ...]:
    """The agencies with ``level_name`` cleared once it has been folded into the levels."""
    return tuple(
        replace(item, entry=item.entry.model_copy(update={"level_name": None}))
        if item.entry.level_name is not None
        else item
        for item in agencies
    )


def _merge_level_names(
    levels: Iterable[LevelEntry],
    agencies: Sequence[LocatedAgency],
    source: str,
    issues: list[DirectoryIssue],
) -> tuple[LevelEntry, ...]:
    names = {level.level: level.name for level in levels}
    named_by: dict[int, LocatedAgency] = {}
    for item in agencies:
        entry = item.entry
        if entry.level_name is None:
            continue
        current = names.get(entry.level)
        if current is None:
            names[entry.level] = entry.level_name
            named_by[entry.level] = item
        elif current != entry.level_name:
            origin = named_by.get(entry.level)
            where = f"agency #{origin.record}" if origin else "'levels'"
            issues.append(
                _agency_issue(
                    source,
                    item,
                    "level_name",
                    f"level {entry.level} is named {current!r} by {where}, "
                    f"not {entry.level_name!r}",
                )
            )
    return tuple(LevelEntry(level=level, name=names[level]) for level in sorted(names))


def _cycle_issues(
    directory: DirectoryFile, first_seen: Mapping[str, LocatedAgency], known: KnownDirectory
) -> list[DirectoryIssue]:
    parents: dict[str, str | None] = dict(known.parents)
    parents.update({code: item.entry.parent for code, item in first_seen.items()})
    done: set[str] = set()
    issues: list[DirectoryIssue] = []
    for item in directory.agencies:
        path: list[str] = []
        on_path: dict[str, int] = {}
        current: str | None = item.entry.code
        while current is not None and current not in done and current in parents:
            if current in on_path:
                loop = [*path[on_path[current] :], current]
                culprit = next((first_seen[code] for code in loop if code in first_seen), item)
                issues.append(
                    _agency_issue(
                        directory.source,
                        culprit,
                        "parent",
                        f"parent chain loops back on itself: {' → '.join(loop)}",
                    )
                )
                break
            on_path[current] = len(path)
            path.append(current)
            current = parents[current]
        done.update(path)
    return issues


def _issue(
    source: str,
    line: int | None,
    record: int | None = None,
    agency: str | None = None,
    field: str | None = None,
    message: str = "",
) -> DirectoryIssue:
    return DirectoryIssue(
        source=source, line=line, record=record, agency=agency, field=field, message=message
    )


def _agency_issue(
    source: str, item: LocatedAgency, field_name: str, message: str
) -> DirectoryIssue:
    return DirectoryIssue(
        source=source,
        line=item.line_of(field_name),
        record=item.record,
        agency=item.entry.code,
        field=field_name,
        message=message,
    )


def raise_issues(issues: Sequence[DirectoryIssue], source: str) -> None:
    """Raise a :class:`DirectoryError` listing ``issues`` (the first 200), if there are any."""
    if not issues:
        return
    shown = list(issues[:_MAX_REPORTED_ISSUES])
    more = len(issues) - len(shown)
    suffix = f" (first {len(shown)} shown)" if more else ""
    raise DirectoryError(f"{source}: {len(issues)} problem(s) found{suffix}", shown)
