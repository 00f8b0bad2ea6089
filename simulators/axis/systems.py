"""The systems file of the simulated axis: who may call it, with which secret, for whom.

YAML (or JSON, which YAML reads too)::

    systems:
      hanoi.hub:                      # the system id, as the client signs it
        secret_env: HANOI_AXIS_SECRET # or `secret: ...` (keep real secrets out of files)
        agencies:                     # the agency codes this system serves
          - code: 000.00.00.H26
            name: UBND thành phố Hà Nội
          - "*.H26"                   # a pattern: every code ending in .H26
      vpcp:
        secret_env: VPCP_AXIS_SECRET
        agencies: [{code: 000.00.00.G22, name: Văn phòng Chính phủ}]

``systems`` may also be a list of objects with an ``id``. A packet for a code goes to every
system listing that exact code; when none does, to every system with a matching pattern.
``getAgenciesList`` answers the exact codes.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["SimAgency", "SimSystem", "Systems", "SystemsFileError", "load_systems"]


class SystemsFileError(ValueError):
    """Raised when a systems file cannot be read or describes an impossible setup."""


class SimAgency(BaseModel):
    """An agency code a system serves (``code`` may be a ``*``/``?`` pattern)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    name: str | None = None
    parent_code: str | None = None

    @property
    def is_pattern(self) -> bool:
        """Whether ``code`` matches several codes."""
        return any(ch in self.code for ch in "*?[")


class SimSystem(BaseModel):
    """A system connected to the simulated axis."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    secret: str = Field(min_length=1, repr=False)
    agencies: tuple[SimAgency, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _agency_strings(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("agencies"), list):
            data = {
                **data,
                "agencies": [
                    {"code": entry} if isinstance(entry, str) else entry
                    for entry in data["agencies"]
                ],
            }
        return data

    def serves(self, code: str, *, exact: bool) -> bool:
        """Whether this system serves ``code`` by an exact entry (or by a pattern)."""
        for agency in self.agencies:
            if exact and not agency.is_pattern and agency.code == code:
                return True
            if not exact and agency.is_pattern and fnmatch.fnmatchcase(code, agency.code):
                return True
        return False


class Systems:
    """Every system of the simulated axis, and the routing of agency codes to them."""

    def __init__(self, systems: Sequence[SimSystem]) -> None:
        self._by_id: dict[str, SimSystem] = {}
        for system in systems:
            if system.id in self._by_id:
                raise SystemsFileError(f"system {system.id!r} is listed twice")
            self._by_id[system.id] = system

    def __iter__(self) -> Iterator[SimSystem]:
        return iter(self._by_id.values())

    def get(self, system_id: str) -> SimSystem | None:
        """The system with this id, if connected."""
        return self._by_id.get(system_id)

    def route(self, code: str) -> list[str]:
        """The ids of the systems that receive packets for ``code`` (may be empty)."""
        exact = [s.id for s in self._by_id.values() if s.serves(code, exact=True)]
        return exact or [s.id for s in self._by_id.values() if s.serves(code, exact=False)]

    def serves(self, system_id: str, code: str) -> bool:
        """Whether ``system_id`` serves ``code`` (exactly or by a pattern)."""
        system = self._by_id.get(system_id)
        return system is not None and (
            system.serves(code, exact=True) or system.serves(code, exact=False)
        )

    def agencies(self) -> list[SimAgency]:
        """Every exact agency, once, in file order."""
        seen: dict[str, SimAgency] = {}
        for system in self._by_id.values():
            for agency in system.agencies:
                if not agency.is_pattern:
                    seen.setdefault(agency.code, agency)
        return list(seen.values())


def systems_from(data: Any, *, environ: Mapping[str, str] | None = None) -> Systems:
    """Systems from the decoded content of a systems file.

    Raises SystemsFileError naming the system and field at fault.
    """
    env = os.environ if environ is None else environ
    if not isinstance(data, dict) or "systems" not in data:
        raise SystemsFileError("a systems file is a mapping with a 'systems' key")
    raw = data["systems"]
    if isinstance(raw, dict):
        entries = [
            {"id": key, **value} if isinstance(value, dict) else {"id": key}
            for key, value in raw.items()
        ]
    elif isinstance(raw, list):
        entries = raw
    else:
        raise SystemsFileError("'systems' must be a mapping of system id to settings, or a list")
    systems = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise SystemsFileError(f"system #{position} is not a mapping")
        entry = dict(entry)
        label = f"system {entry.get('id', f'#{position}')!r}"
        variable = entry.pop("secret_env", None)
        if variable is not None:
            if "secret" in entry:
                raise SystemsFileError(f"{label}: give secret or secret_env, not both")
            if not env.get(str(variable)):
                raise SystemsFileError(
                    f"{label}: the environment variable {variable} (secret_env) is not set"
                )
            entry["secret"] = env[str(variable)]
        try:
            systems.append(SimSystem.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'entry'}: {error['msg']}"
                for error in exc.errors()
            )
            raise SystemsFileError(f"{label}: {problems}") from exc
    return Systems(systems)


def load_systems(path: Path, *, environ: Mapping[str, str] | None = None) -> Systems:
    """Systems from a YAML or JSON file."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise SystemsFileError(f"cannot read the systems file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SystemsFileError(f"{path} is not YAML or JSON: {exc}") from exc
    try:
        return systems_from(data, environ=environ)
    except SystemsFileError as exc:
        raise SystemsFileError(f"{path}: {exc}") from exc
