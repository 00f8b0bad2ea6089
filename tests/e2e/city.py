"""The small city the end-to-end tests run: a province, its departments, a district, communes.

Codes are in the QCVN 102 form under an invented province code (H99); some agencies take
delivery by webhook, others from their inbox, and each answers as its behaviour says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import yaml

from simulators.agencies import PROMPT, REFUSES_CHANGES, Behaviour

CITY = "000.00.00.H99"
DEPT_HOME = "000.00.01.H99"
DEPT_FINANCE = "000.00.02.H99"
DEPT_IT = "000.00.03.H99"
DISTRICT = "000.00.21.H99"
COMMUNE = "000.01.21.H99"
COMMUNE_WEBHOOK = "000.02.21.H99"
COMMUNE_OTHER = "000.03.21.H99"
UNKNOWN = "000.09.21.H99"
"""A well-formed code the directory does not hold."""

LEVELS = ((1, "Trung ương"), (2, "Tỉnh"), (3, "Huyện"), (4, "Xã"))


@dataclass(frozen=True)
class Member:
    """An agency of the city: where it sits, how it takes delivery, how it answers."""

    code: str
    name: str
    level: int
    parent: str | None
    channel: Literal["webhook", "inbox"]
    behaviour: Behaviour


MEMBERS = (
    Member(CITY, "UBND tỉnh Hòa Bình Mới", 2, None, "webhook", PROMPT),
    Member(DEPT_HOME, "Sở Nội vụ", 2, CITY, "webhook", PROMPT),
    Member(DEPT_FINANCE, "Sở Tài chính", 2, CITY, "webhook", REFUSES_CHANGES),
    Member(DEPT_IT, "Sở Thông tin và Truyền thông", 2, CITY, "inbox", PROMPT),
    Member(DISTRICT, "UBND huyện Lạc Sơn", 3, CITY, "inbox", PROMPT),
    Member(COMMUNE, "UBND xã An Bình", 4, DISTRICT, "inbox", PROMPT),
    Member(COMMUNE_WEBHOOK, "UBND xã Tân Phú", 4, DISTRICT, "webhook", PROMPT),
    Member(COMMUNE_OTHER, "UBND xã Phú Lộc", 4, DISTRICT, "inbox", REFUSES_CHANGES),
)


def directory_yaml(webhooks: Mapping[str, tuple[str, str]]) -> str:
    """The directory file of the city; ``webhooks`` maps codes to (url, secret)."""
    agencies = []
    for member in MEMBERS:
        entry: dict[str, object] = {
            "code": member.code,
            "name": member.name,
            "level": member.level,
            "parent": member.parent,
            "channel": member.channel,
            "illustrative": True,
        }
        if member.channel == "webhook":
            url, secret = webhooks[member.code]
            entry["settings"] = {"url": url, "secret": secret}
        agencies.append(entry)
    data = {
        "levels": [{"level": level, "name": name} for level, name in LEVELS],
        "agencies": agencies,
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
