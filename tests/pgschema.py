"""A PostgreSQL schema of a test's own: its journal URL (search_path in the URL), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from fixgw.store.database import journal_url as normalised_url


@contextmanager
def postgres_schema(base: str, prefix: str = "test_") -> Iterator[str]:
    """A journal URL on a schema created for the caller only, dropped on exit."""
    schema = f"{prefix}{uuid.uuid4().hex[:20]}"
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
