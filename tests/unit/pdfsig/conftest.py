"""Fixtures: a test PKI made per session, and PDFs signed with it."""

from __future__ import annotations

import pytest

from simulators.pdfs import Authority, Signer, TimeStampAuthority, blank_pdf, sign


@pytest.fixture(scope="session")
def city_ca() -> Authority:
    """The CA the hub is configured to trust."""
    return Authority.create("Test Government CA")


@pytest.fixture(scope="session")
def other_ca() -> Authority:
    """A CA the hub does not know."""
    return Authority.create("Unknown CA")


@pytest.fixture(scope="session")
def person(city_ca: Authority) -> Signer:
    """The authorised person's signing certificate."""
    return city_ca.issue("Nguyễn Văn An", "UBND Quận Ba Đình")


@pytest.fixture(scope="session")
def seal(city_ca: Authority) -> Signer:
    """The agency's seal certificate (Decree 30/2020: signed after the person)."""
    return city_ca.issue("UBND Quận Ba Đình", "UBND Quận Ba Đình")


@pytest.fixture(scope="session")
def unsigned_pdf() -> bytes:
    return blank_pdf("Cong van 12/UBND-VP")


@pytest.fixture(scope="session")
def signed_pdf(unsigned_pdf: bytes, person: Signer) -> bytes:
    return sign(unsigned_pdf, person)


@pytest.fixture(scope="session")
def tsa(city_ca: Authority) -> TimeStampAuthority:
    """A time-stamping authority under the city CA."""
    return TimeStampAuthority.create(city_ca)
