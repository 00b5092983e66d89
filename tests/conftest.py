"""Shared fixtures. `journal_url`: a fresh, empty journal database per test, on SQLite and (when
FIXGW_TEST_DATABASE_URL is set) on PostgreSQL in a schema of its own, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgschema import postgres_schema

from fixgw.store import Journal

POSTGRES_URL_ENV = "FIXGW_TEST_DATABASE_URL"


def sqlite_journal_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'journal.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database for a Journal: parametrised over SQLite and PostgreSQL.

    The PostgreSQL URL points at a schema created for this test only (search_path in the URL), so tests
    running in parallel never see each other's rows; it is dropped at teardown. Close your journals.
    """
    if request.param == "sqlite":
        yield sqlite_journal_url(tmp_path)
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    """An open Journal on `journal_url`, closed after the test."""
    with Journal(journal_url) as opened:
        yield opened
