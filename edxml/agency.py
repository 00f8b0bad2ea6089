"""Agency identifier codes (mã định danh): parsing the QCVN 102:2016 form, accepting any other.

An ``OrganId`` in a packet is a routing key first: the hub looks the whole string up in its
directory and never rejects a packet because a code has an unexpected shape. Real packets carry
short forms (``28.22.H17``), axis system ids (``vxp.saas.03``), the literal ``null``, the
35-character codes of Decision 20/2020 and UUIDs. This module therefore accepts every non-blank
string, and only for the 13-character QCVN 102:2016 form ``V1V2V3.Z1Z2.Y1Y2.MX1X2`` derives a
level, a parent and the chain of ancestors, as hints for the directory and the router.

The QCVN form is read from the lowest level to the highest:

* ``MX1X2`` (level 1): an uppercase letter and two digits, e.g. ``H26`` (Hà Nội People's
  Committee), ``K`` People's Councils, ``G`` ministries; any letter is accepted.
* ``Y1Y2`` (level 2), ``Z1Z2`` (level 3): two digits each, 01-99.
* ``V1V2V3`` (level 4): three digits, 001-999.

A group of zeros means "no unit at that level". The level of a code is that of its deepest
non-zero group, and its parent is the same code with that group set to zeros, so
``001.05.12.H26`` → ``000.05.12.H26`` → ``000.00.12.H26`` → ``000.00.00.H26``.

Irregular codes, with a zero group above a non-zero one (``001.00.12.H26``), follow the same
rule and are flagged ``irregular``: ``001.00.12.H26`` is level 4 with parent ``000.00.12.H26``
(level 2), and its ancestors skip the empty level. So ``level`` is where the unit sits, and
``len(ancestors)`` can be smaller than ``level - 1``.

Case: only the uppercase form, as the standard and Decision 20/2020 (0-9, A-Z) write it, is
recognised as QCVN. A lowercase ``000.00.12.h26`` is an opaque code, kept as given: the code is
compared exactly in the directory, so deriving parents from it or upper-casing it would produce
keys that match nothing. Digits are ASCII only.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = [
    "MAX_LEVEL",
    "AgencyCode",
    "child_code",
    "is_qcvn_code",
    "level_of",
    "parse_agency_code",
]

MAX_LEVEL = 4
"""The deepest level the QCVN 102:2016 form can express."""

_QCVN_RE = re.compile(r"([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.([A-Z][0-9]{2})")
_GROUP_WIDTH = (2, 2, 3)
"""Digits of the group naming the unit at levels 2, 3 and 4."""

_Numbers = tuple[int, int, int]
"""The unit numbers at levels 2, 3 and 4 (``Y1Y2``, ``Z1Z2``, ``V1V2V3``); 0 means none."""


class AgencyCode(BaseModel):
    """A parsed agency code; build it with :func:`parse_agency_code`.

    For a code that is not in the 13-character QCVN form, ``qcvn`` is False, ``irregular`` is
    False, ``ancestors`` is empty and every other derived field is None.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    """The code as given, without surrounding whitespace."""
    qcvn: bool
    """Whether the code has the 13-character QCVN 102:2016 form."""
    level: int | None
    """1-4: the level of the deepest non-zero group."""
    parent: str | None
    """The code with its deepest non-zero group zeroed; None at level 1."""
    root: str | None
    """The level-1 part ``MX1X2``, e.g. ``H26``."""
    root_kind: str | None
    """The letter of the level-1 part, e.g. ``H``."""
    province_or_ministry: str | None
    """The province/ministry part: the same value as ``root``."""
    ancestors: tuple[str, ...]
    """The codes above this one, from level 1 down to the parent."""
    irregular: bool
    """Whether a zero group lies above a non-zero one, as in ``001.00.12.H26``."""

    def __str__(self) -> str:
        return self.code


def _split(code: str) -> tuple[str, _Numbers] | None:
    match = _QCVN_RE.fullmatch(code)
    if match is None:
        return None
    v, z, y, root = match.groups()
    return root, (int(y), int(z), int(v))


def _compose(root: str, numbers: _Numbers) -> str:
    y, z, v = numbers
    return f"{v:03d}.{z:02d}.{y:02d}.{root}"


def _level(numbers: _Numbers) -> int:
    filled = [index for index, number in enumerate(numbers) if number]
    return filled[-1] + 2 if filled else 1


def _replaced(numbers: _Numbers, level: int, number: int) -> _Numbers:
    y, z, v = numbers
    if level == 2:
        return number, z, v
    if level == 3:
        return y, number, v
    return y, z, number


def _parent(numbers: _Numbers) -> _Numbers | None:
    level = _level(numbers)
    return None if level == 1 else _replaced(numbers, level, 0)


def _ancestors(numbers: _Numbers) -> list[_Numbers]:
    """The unit numbers of the ancestors, from level 1 down to the parent."""
    chain: list[_Numbers] = []
    current = _parent(numbers)
    while current is not None:
        chain.append(current)
        current = _parent(current)
    return chain[::-1]


def parse_agency_code(code: str) -> AgencyCode:
    """Parse an agency code; any non-blank string is accepted.

    Raises:
        ValueError: the code is empty or only whitespace.
    """
    stripped = code.strip()
    if not stripped:
        raise ValueError("agency code is empty")
    parts = _split(stripped)
    if parts is None:
        return AgencyCode(
            code=stripped,
            qcvn=False,
            level=None,
            parent=None,
            root=None,
            root_kind=None,
            province_or_ministry=None,
            ancestors=(),
            irregular=False,
        )
    root, numbers = parts
    level = _level(numbers)
    ancestors = tuple(_compose(root, ancestor) for ancestor in _ancestors(numbers))
    return AgencyCode(
        code=stripped,
        qcvn=True,
        level=level,
        parent=ancestors[-1] if ancestors else None,
        root=root,
        root_kind=root[0],
        province_or_ministry=root,
        ancestors=ancestors,
        irregular=len(ancestors) != level - 1,
    )


def is_qcvn_code(code: str) -> bool:
    """Whether the code, stripped, has the 13-character QCVN form; False for a blank string."""
    return _split(code.strip()) is not None


def level_of(code: str) -> int | None:
    """The level (1-4) of a QCVN code; None for any other code, blank included."""
    parts = _split(code.strip())
    return None if parts is None else _level(parts[1])


def child_code(parent: str, number: int) -> str:
    """The QCVN code of unit ``number`` one level below ``parent``.

    The child's number fills the group just below the parent's level: 1-99 at levels 2 and 3,
    1-999 at level 4. ``child_code("000.00.00.H26", 12) == "000.00.12.H26"``.

    Raises:
        ValueError: the parent is not a QCVN code, is already at level 4, or the number is out
            of range for the child's level.
    """
    parts = _split(parent.strip())
    if parts is None:
        raise ValueError(f"parent {parent!r} is not a QCVN 102:2016 code")
    root, numbers = parts
    level = _level(numbers)
    if level >= MAX_LEVEL:
        raise ValueError(f"parent {parent!r} is at level {MAX_LEVEL}: no level below it")
    highest = 10 ** _GROUP_WIDTH[level - 1] - 1
    if isinstance(number, bool) or not 1 <= number <= highest:
        raise ValueError(
            f"child number {number!r} is out of range 1-{highest} at level {level + 1}"
        )
    return _compose(root, _replaced(numbers, level + 1, number))
