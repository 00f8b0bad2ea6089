"""The hub's errors: one tree, stable codes, issues that say where to look."""

from __future__ import annotations

from hub.errors import (
    DeliveryError,
    DirectoryError,
    DirectoryIssue,
    HubError,
    PermanentDeliveryError,
    SchemaOutOfDateError,
    StorageError,
    TransientDeliveryError,
)


def test_transient_delivery_error_carries_the_delay_asked_for() -> None:
    error = TransientDeliveryError("503 from peer", delay=30.0)

    assert error.delay == 30.0
    assert isinstance(error, DeliveryError)


def test_retry_classification_is_by_type() -> None:
    assert not issubclass(PermanentDeliveryError, TransientDeliveryError)
    assert not issubclass(TransientDeliveryError, PermanentDeliveryError)


def test_schema_out_of_date_is_a_storage_error_of_the_hub() -> None:
    assert issubclass(SchemaOutOfDateError, StorageError)
    assert issubclass(StorageError, HubError)


def test_directory_error_lists_each_issue_on_its_own_line() -> None:
    issue = DirectoryIssue(
        source="city.csv",
        line=12,
        record=11,
        agency="000.00.01.H26",
        field="parent",
        message="unknown parent 'x'",
    )

    error = DirectoryError("city.csv: 1 problem(s) found", [issue])

    assert str(error) == (
        "city.csv: 1 problem(s) found\n"
        "  city.csv:12, agency #11 (000.00.01.H26), field 'parent': unknown parent 'x'"
    )
    assert error.as_dict()["issues"] == [
        {
            "source": "city.csv",
            "line": 12,
            "record": 11,
            "agency": "000.00.01.H26",
            "field": "parent",
            "message": "unknown parent 'x'",
            "subject": "agency",
        }
    ]
