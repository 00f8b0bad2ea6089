"""How the hub's errors answer over HTTP: one mapping, one body shape."""

from __future__ import annotations

import pytest

from hub.api.errors import status_for
from hub.errors import (
    ConfigurationError,
    ConflictError,
    DuplicateDocumentError,
    ForbiddenError,
    HubError,
    InvalidRequestError,
    MalformedPacketError,
    NotFoundError,
    OversizePacketError,
    SchemaOutOfDateError,
    StorageError,
    UnauthorizedError,
    UnroutablePacketError,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UnauthorizedError("no token"), 401),
        (ForbiddenError("not yours"), 403),
        (NotFoundError("nothing"), 404),
        (ConflictError("again"), 409),
        (DuplicateDocumentError("same id"), 409),
        (OversizePacketError("big"), 413),
        (MalformedPacketError("bad"), 400),
        (UnroutablePacketError("who"), 422),
        (InvalidRequestError("why"), 422),
        (StorageError("down"), 503),
        (SchemaOutOfDateError("old"), 503),
        (ConfigurationError("wrong"), 500),
        (HubError("other"), 500),
    ],
)
def test_each_kind_of_error_answers_its_http_status(error: HubError, status: int) -> None:
    assert status_for(error) == status


def test_rejected_packet_error_names_the_element_and_line_and_keeps_details() -> None:
    error = MalformedPacketError(
        "From has no OrganId",
        code="packet.missing-element",
        element="From/OrganId",
        line=6,
        details={"issues": [{"code": "packet.missing-element"}]},
    )

    assert error.as_dict() == {
        "code": "packet.missing-element",
        "message": "From has no OrganId",
        "element": "From/OrganId",
        "line": 6,
        "issues": [{"code": "packet.missing-element"}],
    }


def test_duplicate_document_error_carries_the_existing_packet() -> None:
    error = DuplicateDocumentError(
        "already accepted", details={"document_id": "X,2026/11/20,1/UB", "packet_id": "P1"}
    )

    assert error.as_dict()["packet_id"] == "P1"
    assert error.code == "packet.duplicate-document"
