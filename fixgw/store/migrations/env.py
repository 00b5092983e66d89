"""Alembic environment of the journal: run on open by fixgw.store, or from the alembic CLI:

    alembic -c fixgw/store/migrations/alembic.ini -x url=sqlite:///journal.db upgrade head

(the URL may also come from FIXGW_JOURNAL_URL or sqlalchemy.url in the ini file).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from fixgw.store.database import VERSION_TABLE, journal_url, lock_for_migration, make_engine, write_transaction
from fixgw.store.schema import metadata

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, compare_type=True, version_table=VERSION_TABLE,
                      **kwargs)  # type: ignore[arg-type]


def _run_on(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _cli_url() -> str:
    url = (context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("FIXGW_JOURNAL_URL")
           or config.get_main_option("sqlalchemy.url"))
    if not url:
        raise SystemExit("no journal URL: pass -x url=..., set FIXGW_JOURNAL_URL or sqlalchemy.url")
    return url


given = config.attributes.get("connection")
if given is None and config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)   # CLI only: the daemon owns logging
if given is not None:
    _run_on(given)                      # Journal.open(): already locked, in its transaction
elif context.is_offline_mode():
    _configure(url=journal_url(_cli_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(_cli_url())
    try:
        with write_transaction(engine) as cli_connection:
            lock_for_migration(cli_connection)
            _run_on(cli_connection)
    finally:
        engine.dispose()
