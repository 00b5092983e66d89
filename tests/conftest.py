"""Shared fixtures. `journal_url`: a fresh, empty journal database per test, on SQLite and (when
FIXGW_TEST_DATABASE_URL is set) on PostgreSQL in a schema of its own, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from fixgw.store import Journal
from fixgw.store.database import journal_url as normalised_url

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
    schema = f"test_{uuid.uuid4().hex[:20]}"
    admin = create_engine(normalised_url(base), poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalised_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    """An open Journal on `journal_url`, closed after the test."""
    with Journal(journal_url) as opened:
        yield opened
