"""The head revision read from the revision files is the one Alembic computes."""

from __future__ import annotations

from hub.db.migrate import head_revision, shipped_head


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    assert shipped_head() == head_revision()
