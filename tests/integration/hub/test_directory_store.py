"""The directory in a real database: import, idempotence, round trips, lookups, resolution."""

from __future__ import annotations

from collections import Counter
from textwrap import dedent

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from hub.channels import Channel
from hub.db.database import Database
from hub.db.models import Agency
from hub.directory import (
    DirectoryFile,
    children,
    dump_csv,
    dump_yaml,
    export_directory,
    get_agency,
    import_directory,
    may_send_for,
    parse_csv,
    parse_yaml,
    read_directory_file,
    resolve,
    sample_directory,
)
from hub.directory.citygen import CityPlan, generate_city
from hub.errors import DirectoryError, NotFoundError

from .conftest import snapshot

pytestmark = pytest.mark.integration

CITY = "000.00.00.H26"
CITY_OFFICE = "000.00.01.H26"
DONG_DA = "000.00.22.H26"
VAN_MIEU = "000.21.22.H26"


def hanoi() -> DirectoryFile:
    return read_directory_file(sample_directory("hanoi"))


def load(database: Database, directory: DirectoryFile) -> None:
    with database.transaction() as session:
        import_directory(session, directory)


def test_hanoi_sample_imports_every_agency(database: Database) -> None:
    with database.transaction() as session:
        report = import_directory(session, hanoi())

    assert len(report.created) == len(hanoi().agencies)
    assert report.levels_created == (1, 2, 3, 4)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Agency)) == len(report.created)


def test_lookup_gives_the_agency_with_its_level_name(database: Database) -> None:
    load(database, hanoi())

    with database.transaction() as session:
        ward = get_agency(session, VAN_MIEU)

    assert (ward.name, ward.level, ward.level_name) == ("UBND phường Văn Miếu", 4, "Xã, phường")
    assert (ward.parent_code, ward.channel, ward.illustrative) == (DONG_DA, Channel.INBOX, True)


def test_lookup_of_an_unknown_code_is_not_found(database: Database) -> None:
    load(database, hanoi())

    with database.transaction() as session, pytest.raises(NotFoundError, match=r"000\.00\.99\.H26"):
        get_agency(session, "000.00.99.H26")


def test_children_are_the_direct_children_by_code(database: Database) -> None:
    load(database, hanoi())

    with database.transaction() as session:
        below = children(session, DONG_DA)

    codes = [child.code for child in below]
    assert codes == sorted(codes)
    assert len(codes) == 6 + 10
    assert all(child.parent_code == DONG_DA for child in below)


def test_resolve_separates_active_inactive_and_unknown_codes(database: Database) -> None:
    load(database, hanoi())
    with database.transaction() as session:
        session.get_one(Agency, VAN_MIEU).active = False

    with database.transaction() as session:
        resolution = resolve(session, [CITY, VAN_MIEU, "vxp.saas.03", CITY, "null"])

    assert list(resolution.found) == [CITY]
    assert list(resolution.inactive) == [VAN_MIEU]
    assert resolution.unknown == ("vxp.saas.03", "null")


def test_second_import_of_the_same_file_changes_nothing(database: Database) -> None:
    load(database, hanoi())
    before = snapshot(database.engine)

    with database.transaction() as session:
        report = import_directory(session, hanoi())

    assert (report.created, report.updated, report.changed) == ((), (), False)
    assert len(report.unchanged) == len(hanoi().agencies)
    assert snapshot(database.engine) == before


def test_changed_agency_is_updated_and_timestamped(database: Database) -> None:
    load(database, hanoi())
    with database.transaction() as session:
        before = session.get_one(Agency, CITY_OFFICE).updated_at
    text = dump_yaml(hanoi().data()).replace("Văn phòng UBND Thành phố", "Văn phòng UBND TP")

    with database.transaction() as session:
        report = import_directory(session, parse_yaml(text))

    assert report.updated == (CITY_OFFICE,)
    with database.transaction() as session:
        row = session.get_one(Agency, CITY_OFFICE)
        assert (row.name, row.updated_at > before) == ("Văn phòng UBND TP", True)


def test_yaml_export_then_import_leaves_the_database_identical(database: Database) -> None:
    load(database, hanoi())
    before = snapshot(database.engine)
    with database.transaction() as session:
        exported = dump_yaml(export_directory(session))

    load(database, parse_yaml(exported))

    assert snapshot(database.engine) == before


def test_csv_export_then_import_leaves_the_database_identical(database: Database) -> None:
    load(database, hanoi())
    before = snapshot(database.engine)
    with database.transaction() as session:
        exported = dump_csv(export_directory(session))

    load(database, parse_csv(exported))

    assert snapshot(database.engine) == before


def test_export_lists_parents_before_children(database: Database) -> None:
    load(database, hanoi())

    with database.transaction() as session:
        agencies = export_directory(session).agencies

    position = {entry.code: index for index, entry in enumerate(agencies)}
    assert all(
        entry.parent is None or position[entry.parent] < position[entry.code] for entry in agencies
    )


def test_import_error_names_row_and_field_and_writes_nothing(database: Database) -> None:
    directory = parse_csv(
        dedent(
            f"""\
            code,name,level,level_name,parent,channel
            {CITY},UBND Thành phố Hà Nội,2,Thành phố,,webhook
            {CITY_OFFICE},Văn phòng UBND Thành phố,2,,000.00.00.H27,inbox
            """
        ),
        source="agencies.csv",
    )

    with pytest.raises(DirectoryError) as caught, database.transaction() as session:
        import_directory(session, directory)

    assert [str(issue) for issue in caught.value.issues] == [
        f"agencies.csv:3, agency #2 ({CITY_OFFICE}), field 'parent': unknown parent "
        "'000.00.00.H27': not in this file nor in the directory"
    ]
    assert all(rows == [] for rows in snapshot(database.engine).values())


def test_parent_imported_earlier_is_accepted(database: Database) -> None:
    load(
        database,
        parse_yaml(f"- {{code: {CITY}, name: UBND, level: 2, level_name: TP, channel: inbox}}\n"),
    )

    with database.transaction() as session:
        report = import_directory(
            session,
            parse_yaml(
                f"- {{code: {CITY_OFFICE}, name: VP, level: 2, parent: {CITY}, channel: inbox}}\n"
            ),
        )

    assert report.created == (CITY_OFFICE,)


def test_cycle_through_a_stored_agency_is_refused(database: Database) -> None:
    load(database, hanoi())
    directory = parse_yaml(
        f"- {{code: {CITY}, name: UBND, level: 2, parent: {DONG_DA}, channel: inbox}}\n"
    )

    with pytest.raises(DirectoryError, match="loops back"), database.transaction() as session:
        import_directory(session, directory)


def test_agency_can_move_under_a_parent_created_by_the_same_import(database: Database) -> None:
    load(database, hanoi())
    new_district = "000.00.40.H26"
    directory = parse_yaml(
        dedent(
            f"""\
            - {{code: {VAN_MIEU}, name: UBND phường Văn Miếu, level: 4,
                parent: {new_district}, channel: inbox}}
            - {{code: {new_district}, name: UBND quận Mới, level: 3,
                parent: {CITY}, channel: inbox}}
            """
        )
    )

    with database.transaction() as session:
        report = import_directory(session, directory)

    assert (report.created, report.updated) == ((new_district,), (VAN_MIEU,))
    with database.transaction() as session:
        assert get_agency(session, VAN_MIEU).parent_code == new_district


def test_delegation_lets_an_office_send_for_its_committee(database: Database) -> None:
    load(database, hanoi())

    with database.transaction() as session:
        allowed = may_send_for(session, CITY_OFFICE, CITY)
        reverse = may_send_for(session, CITY, CITY_OFFICE)

    assert (allowed, reverse) == (True, False)


def test_delegations_become_exactly_the_listed_ones(database: Database) -> None:
    load(database, hanoi())
    text = dump_yaml(hanoi().data()).replace(f"  may_send_for:\n  - {CITY}\n", "", 1)

    with database.transaction() as session:
        report = import_directory(session, parse_yaml(text))

    assert report.updated == (CITY_OFFICE,)
    with database.transaction() as session:
        assert may_send_for(session, CITY_OFFICE, CITY) is False


def test_generated_city_imports_with_its_counts_and_valid_parents(database: Database) -> None:
    plan = CityPlan()
    city = generate_city(plan)

    load(database, parse_yaml(dump_yaml(city)))

    with database.transaction() as session:
        levels = Counter(session.scalars(select(Agency.level)))
        parent = aliased(Agency)
        orphans = session.scalar(
            select(func.count())
            .select_from(Agency)
            .outerjoin(parent, Agency.parent_code == parent.code)
            .where(Agency.parent_code.is_not(None), parent.code.is_(None))
        )
    assert levels == {1: 1, 2: 1 + plan.departments, 3: plan.districts, 4: 600}
    assert orphans == 0


def test_level_name_in_a_file_replaces_the_stored_one(database: Database) -> None:
    load(database, hanoi())
    text = dump_yaml(hanoi().data()).replace("name: Quận, huyện", "name: Cấp huyện")

    with database.transaction() as session:
        report = import_directory(session, parse_yaml(text))

    assert (report.levels_updated, report.updated) == ((3,), ())
    with database.transaction() as session:
        assert get_agency(session, DONG_DA).level_name == "Cấp huyện"
