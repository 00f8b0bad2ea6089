"""Operators record, preview and list dated directory changes over the API."""

from __future__ import annotations

import pytest

from .conftest import ApiClient, Hub
from .packets import DEPARTMENT, OTHER_WARD, WARD

pytestmark = pytest.mark.integration

MERGE = f"""\
changes:
  - id: api-merge
    kind: merge
    effective: 2025-07-01
    act: Nghị quyết 1656/NQ-UBTVQH15
    from: [{WARD}, {OTHER_WARD}]
    into: 000.01.61.H26
    agency: {{code: 000.01.61.H26, name: UBND phường mới, level: 4, parent: 000.00.22.H26}}
"""
CSV_RENAME = "kind,effective,act,code,name\nrename,2025-07-01,QĐ 7,000.00.03.H26,Sở X\n"


def test_an_operator_previews_changes_without_recording_them(client: ApiClient, hub: Hub) -> None:
    preview = client.post(
        "/api/v1/directory/changes?dry_run=true",
        content=MERGE.encode(),
        headers={**hub.operator_auth(), "Content-Type": "application/yaml"},
    )
    listed = client.get("/api/v1/directory/changes", headers=hub.operator_auth())

    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True
    assert [change["key"] for change in preview.json()["recorded"]] == ["api-merge"]
    assert listed.json() == []


def test_an_operator_records_changes_and_they_are_listed(client: ApiClient, hub: Hub) -> None:
    recorded = client.post(
        "/api/v1/directory/changes?source=reform.yaml",
        content=MERGE.encode(),
        headers={**hub.operator_auth("ops-an"), "Content-Type": "application/yaml"},
    )
    listed = client.get(f"/api/v1/directory/changes?code={WARD}", headers=hub.operator_auth())

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["applied"] == ["api-merge"]
    (change,) = listed.json()
    assert (change["key"], change["recorded_by"]) == ("api-merge", "operator:ops-an")


def test_a_csv_body_is_read_as_csv(client: ApiClient, hub: Hub) -> None:
    recorded = client.post(
        "/api/v1/directory/changes",
        content=CSV_RENAME.encode(),
        headers={**hub.operator_auth(), "Content-Type": "text/csv"},
    )

    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["recorded"][0]["summary"].endswith("→ Sở X")


def test_an_invalid_change_file_answers_422_with_every_problem(client: ApiClient, hub: Hub) -> None:
    answer = client.post(
        "/api/v1/directory/changes",
        content=MERGE.replace("    act: Nghị quyết 1656/NQ-UBTVQH15\n", "").encode(),
        headers={**hub.operator_auth(), "Content-Type": "application/yaml"},
    )

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "directory.invalid"
    assert [(issue["field"], issue["line"]) for issue in error["issues"]] == [("act", 2)], error


def test_an_agency_token_may_not_record_changes(client: ApiClient, hub: Hub) -> None:
    answer = client.post(
        "/api/v1/directory/changes",
        content=MERGE.encode(),
        headers={**hub.auth(DEPARTMENT), "Content-Type": "application/yaml"},
    )

    assert answer.status_code == 403
