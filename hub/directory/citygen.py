"""A full-size illustrative city directory for load tests, the same for the same seed.

The city has a People's Committee, its departments, districts with their offices and communes,
and the Government Office behind the national axis. Codes follow QCVN 102:2016 under a
province code that no real province uses (``H99`` by default); every agency but the
Government Office is marked illustrative.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from edxml.agency import child_code
from hub.channels import Channel
from hub.directory.formats import AgencyEntry, DirectoryData, LevelEntry

__all__ = ["CityPlan", "generate_city"]

GOVERNMENT_OFFICE = "000.00.00.G22"

_LEVELS = (
    LevelEntry(level=1, name="Trung ương"),
    LevelEntry(level=2, name="Thành phố"),
    LevelEntry(level=3, name="Quận, huyện"),
    LevelEntry(level=4, name="Xã, phường"),
)

_DEPARTMENTS = (
    "Văn phòng UBND Thành phố",
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Thông tin và Truyền thông",
    "Sở Xây dựng",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Công Thương",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Tư pháp",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Giao thông vận tải",
    "Sở Tài nguyên và Môi trường",
    "Sở Văn hóa và Thể thao",
    "Sở Du lịch",
    "Sở Khoa học và Công nghệ",
    "Sở Quy hoạch - Kiến trúc",
    "Sở Ngoại vụ",
    "Thanh tra Thành phố",
    "Ban Dân tộc",
    "Ban Quản lý các khu công nghiệp và chế xuất",
    "Ban Quản lý dự án đầu tư xây dựng công trình giao thông",
    "Ban Quản lý dự án đầu tư xây dựng công trình dân dụng",
    "Ban Quản lý dự án đầu tư xây dựng công trình cấp nước, thoát nước và môi trường",
    "Ban Quản lý dự án đầu tư xây dựng công trình văn hóa - xã hội",
    "Ban Quản lý dự án đầu tư xây dựng công trình nông nghiệp và phát triển nông thôn",
    "Ban Quản lý đường sắt đô thị",
    "Ban Quản lý Khu công nghệ cao",
    "Đài Phát thanh và Truyền hình",
    "Trường Đào tạo cán bộ",
    "Viện Nghiên cứu phát triển kinh tế - xã hội",
    "Trung tâm Phục vụ hành chính công",
    "Quỹ Đầu tư phát triển",
    "Bộ Chỉ huy Quân sự Thành phố",
    "Công an Thành phố",
    "Liên minh Hợp tác xã",
    "Ban Quản lý Khu kinh tế",
    "Trung tâm Xúc tiến đầu tư, thương mại và du lịch",
    "Trung tâm Lưu trữ lịch sử",
)

_DISTRICT_OFFICES = (
    "Văn phòng HĐND và UBND",
    "Phòng Nội vụ",
    "Phòng Tư pháp",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Quản lý đô thị",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Y tế",
    "Phòng Văn hóa và Thông tin",
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Kinh tế",
    "Thanh tra",
    "Ban Quản lý dự án đầu tư xây dựng",
)

_SYLLABLES = (
    "An", "Bình", "Cát", "Châu", "Đại", "Định", "Đông", "Đồng", "Giang", "Hà", "Hải", "Hòa",
    "Hồng", "Hưng", "Hương", "Khánh", "Kim", "Lạc", "Lâm", "Liên", "Linh", "Long", "Minh",
    "Mỹ", "Nam", "Nghĩa", "Ngọc", "Nhân", "Phong", "Phú", "Phúc", "Phương", "Quang", "Quảng",
    "Sơn", "Tân", "Tây", "Thạch", "Thái", "Thanh", "Thành", "Thịnh", "Thuận", "Thượng",
    "Tiến", "Trung", "Trường", "Tú", "Văn", "Vân", "Việt", "Vĩnh", "Xuân", "Yên",
)  # fmt: skip


@dataclass(frozen=True)
class CityPlan:
    """The shape of a generated city."""

    districts: int = 30
    communes_per_district: int = 20
    departments: int = 40
    offices_per_district: int = 0
    seed: int = 0
    province: str = "H99"
    city_name: str = "Thành phố Minh Sơn"

    def check(self) -> None:
        """Raise ValueError when the plan cannot be written with QCVN 102:2016 codes."""
        if not (len(self.province) == 3 and self.province[0].isalpha()):
            raise ValueError(f"province must be a letter and two digits, got {self.province!r}")
        if self.districts < 0 or self.departments < 0:
            raise ValueError("districts and departments cannot be negative")
        if self.communes_per_district < 0 or self.offices_per_district < 0:
            raise ValueError("communes and offices per district cannot be negative")
        if self.departments + self.districts > 99:
            raise ValueError(
                "departments + districts must be at most 99: they share the two-digit "
                "level-2 group of the code"
            )
        if self.offices_per_district + self.communes_per_district > 99:
            raise ValueError(
                "offices + communes per district must be at most 99: they share the "
                "two-digit level-3 group of the code"
            )
        if self.offices_per_district > len(_DISTRICT_OFFICES):
            raise ValueError(f"at most {len(_DISTRICT_OFFICES)} offices per district")

    @property
    def agency_count(self) -> int:
        """How many agencies the plan yields."""
        per_district = 1 + self.offices_per_district + self.communes_per_district
        return 2 + self.departments + self.districts * per_district


def generate_city(plan: CityPlan) -> DirectoryData:
    """The directory of a city following ``plan``; equal plans give equal directories.

    Raises:
        ValueError: the plan does not fit the code form (see :meth:`CityPlan.check`).
    """
    plan.check()
    rng = random.Random(plan.seed)  # noqa: S311 (reproducible test data, not a secret)
    city = f"000.00.00.{plan.province}"
    agencies: list[AgencyEntry] = [
        AgencyEntry(
            code=GOVERNMENT_OFFICE,
            name="Văn phòng Chính phủ",
            level=1,
            channel=Channel.AXIS,
            settings={"system": "vxp"},
        ),
        AgencyEntry(
            code=city,
            name=f"UBND {plan.city_name}",
            level=2,
            channel=Channel.WEBHOOK,
            settings={"url": _webhook_url(city)},
            illustrative=True,
        ),
    ]
    for number in range(1, plan.departments + 1):
        code = child_code(city, number)
        agencies.append(
            AgencyEntry(
                code=code,
                name=_department_name(number),
                level=2,
                parent=city,
                channel=Channel.WEBHOOK,
                settings={"url": _webhook_url(code)},
                illustrative=True,
            )
        )
    district_names = _unique_names(rng, plan.districts, taken=set())
    for index, district_name in enumerate(district_names):
        district = child_code(city, plan.departments + index + 1)
        urban = rng.random() < 0.4
        agencies.append(
            AgencyEntry(
                code=district,
                name=f"UBND {'quận' if urban else 'huyện'} {district_name}",
                level=3,
                parent=city,
                channel=Channel.INBOX,
                illustrative=True,
            )
        )
        for number, office in enumerate(_DISTRICT_OFFICES[: plan.offices_per_district], 1):
            agencies.append(
                AgencyEntry(
                    code=child_code(district, number),
                    name=f"{office} {'quận' if urban else 'huyện'} {district_name}",
                    level=3,
                    parent=district,
                    channel=Channel.INBOX,
                    illustrative=True,
                )
            )
        kind = "phường" if urban else "xã"
        for offset, commune_name in enumerate(
            _unique_names(rng, plan.communes_per_district, taken={district_name}), start=1
        ):
            agencies.append(
                AgencyEntry(
                    code=child_code(district, plan.offices_per_district + offset),
                    name=f"UBND {kind} {commune_name}",
                    level=4,
                    parent=district,
                    channel=Channel.INBOX,
                    illustrative=True,
                )
            )
    return DirectoryData(levels=_LEVELS, agencies=tuple(agencies))


def _department_name(number: int) -> str:
    if number <= len(_DEPARTMENTS):
        return _DEPARTMENTS[number - 1]
    return f"Ban Chuyên đề số {number}"


def _unique_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    seen = set(taken)
    while len(names) < count:
        first, second = rng.sample(_SYLLABLES, 2)
        name = f"{first} {second}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _webhook_url(code: str) -> str:
    return f"http://127.0.0.1:9100/agencies/{code}/edxml"
