"""The journal's database: SQLAlchemy engines for its backends and the schema migrations run on open.

SQLite: WAL, synchronous=FULL (a commit survives power loss), busy_timeout, and real transactions
(pysqlite's implicit ones are switched off so DDL and BEGIN IMMEDIATE behave). PostgreSQL: psycopg 3.
`sync="normal"` trades power-loss durability for no flush per commit: SQLite synchronous=NORMAL (in WAL a commit
survives the process being killed, not the machine losing power), PostgreSQL synchronous_commit=off.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "journal_alembic_version"
"""Alembic's revision table for the journal, named so other fixgw schemas in the same database keep their own."""
log = structlog.get_logger("fixgw.store")

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "fixgw_write"
"""Execution option of a write transaction (the SQLite BEGIN IMMEDIATE and the HA fence look for it)."""
_WRITE = WRITE_OPTION
Sync = Literal["full", "normal"]
SQLITE_SYNCHRONOUS: dict[str, str] = {"full": "FULL", "normal": "NORMAL"}


def journal_url(url: str | URL) -> URL:
    """The URL with a driver: plain postgresql:// means psycopg 3 (the one we ship)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported journal database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def display_url(url: str | URL) -> str:
    """The URL as it may be printed: password masked; never raises (an unparseable URL is not shown at all)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def make_engine(url: str | URL, sync: Sync = "full") -> Engine:
    parsed = journal_url(url)
    if parsed.get_backend_name() == "postgresql":
        if sync == "normal":  # this engine's sessions only: the server's default stays as the DBA set it
            parsed = _with_option(parsed, "-c synchronous_commit=off")
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed):
        raise ValueError("an in-memory SQLite journal is not durable: give it a file (sqlite:///path/journal.db)")
    engine = create_engine(parsed)
    _sqlite_pragmas(engine, SQLITE_SYNCHRONOUS[sync])
    return engine


def _with_option(url: URL, option: str) -> URL:
    """The URL with one more libpq `options` setting, keeping those it has (a search_path, say)."""
    current = url.query.get("options", "")
    given = " ".join(current) if isinstance(current, tuple) else current
    return url.update_query_dict({"options": f"{given} {option}".strip()})


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None     # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enter_wal(cursor)
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA temp_store = MEMORY")  # the sorts of restart's grouped reads (store/daybook.py)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front so busy_timeout applies, instead of failing on lock upgrade.
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enter_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, retried: on a new file, connections switching it at the same moment get
    "database is locked" at once (SQLite does not call the busy handler for the switch), so wait here instead,
    for at most the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on exit (durable on return), rolled back on error."""
    with engine.connect() as connection, connection.execution_options(**{_WRITE: True}).begin():
        yield connection


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    from alembic.config import Config  # Alembic (and Mako) load only when a schema needs upgrading

    """An Alembic config built in code: our migrations, and the connection (or URL) to run them on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def lock_for_migration(connection: Connection) -> None:
    """Serialise schema upgrades between processes sharing the database (the write transaction does on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('fixgw.journal.migrate.' || current_schema()))"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """`alembic upgrade head` on this engine, in one transaction, one process at a time. A journal already at
    head is left alone without loading Alembic (a tenth of the gateway's import time)."""
    if revision == "head" and stored_revision(engine) == head_revision():
        return
    from alembic import command

    with write_transaction(engine) as connection:
        lock_for_migration(connection)
        before = _revision(connection)
        command.upgrade(alembic_config(connection), revision)
        after = _revision(connection)
    # Alembic's INFO lines are held back (fixgw.logs): this says it instead - only in a process that configured
    # logging (unconfigured structlog prints to stdout, where a CLI's output or a child's answer goes).
    if after != before and structlog.is_configured():
        log.info("journal.migrated", from_revision=before, to_revision=after)


def _revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def head_revision() -> str:
    """The migrations' head, read from their files: the one revision no other revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revisions if key == "revision" else revised).add(value)
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the journal migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def stored_revision(engine: Engine) -> str | None:
    """The schema revision the database records, None when it has none (new) or more than one."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    except DBAPIError:  # no version table yet
        return None
    return str(rows[0][0]) if len(rows) == 1 else None
