"""The leader lease of an active/standby pair on one PostgreSQL journal, and the fence on every journal write.

One row per cluster in `ha_lease`: holder, a monotonically increasing epoch and expires_at on the database's
clock (nodes' clocks are never compared). Acquire, renew and step-down are one transaction each. The active also
holds a session advisory lock on its lease connection: PostgreSQL drops it with the connection, so a standby that
can take it knows the holder's process (or machine) is gone and need not wait for the lease to run out.

The fence: once installed on the journal's engine, every write transaction begins with
`SELECT ... FROM ha_lease WHERE holder = me AND epoch = mine FOR SHARE`; no row raises FencedError and nothing of
the transaction is written. FOR SHARE makes a takeover (an UPDATE of that row) wait for writes in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from fixgw.store import haview
from fixgw.store.database import WRITE_OPTION, write_transaction
from fixgw.store.records import FencedError, JournalError

log = structlog.get_logger("fixgw.ha")

_ENSURE = text("INSERT INTO ha_lease (cluster, holder, epoch, expires_at, renewed_at) "
               "VALUES (:cluster, NULL, 0, clock_timestamp(), clock_timestamp()) ON CONFLICT (cluster) DO NOTHING")
_ACQUIRE = text(
    "UPDATE ha_lease SET holder = :node, epoch = epoch + 1, "
    "expires_at = clock_timestamp() + make_interval(secs => :lease_s), renewed_at = clock_timestamp(), "
    "step_down_requested_at = NULL WHERE cluster = :cluster "
    "AND (:force OR holder IS NULL OR holder = :node OR expires_at < clock_timestamp()) "
    "RETURNING epoch")
_RENEW = text(
    "UPDATE ha_lease SET expires_at = clock_timestamp() + make_interval(secs => :lease_s), "
    "renewed_at = clock_timestamp() WHERE cluster = :cluster AND holder = :node AND epoch = :epoch "
    "RETURNING step_down_requested_at IS NOT NULL")
_REQUEST_STEP_DOWN = text(
    "UPDATE ha_lease SET step_down_requested_at = clock_timestamp() WHERE cluster = :cluster AND holder IS NOT NULL "
    "AND expires_at > clock_timestamp() RETURNING holder, epoch")
_STEP_DOWN = text(
    "UPDATE ha_lease SET holder = NULL, expires_at = clock_timestamp() "
    "WHERE cluster = :cluster AND holder = :node AND epoch = :epoch RETURNING epoch")
_FENCE = text("SELECT 1 FROM ha_lease WHERE cluster = :cluster AND holder = :node AND epoch = :epoch FOR SHARE")
_STATUS = text("SELECT holder, epoch, expires_at, renewed_at, clock_timestamp() FROM ha_lease WHERE cluster = :cluster")
_APPLICATION_PREFIX = "fixgw-ha:"
_LOCK_NOT_AVAILABLE = "55P03"
_SCHEMA_TAG = "substr(md5(current_database() || '.' || current_schema()), 1, 8)"
"""In a node's application_name: pg_stat_activity spans the whole server, and a node of the same cluster and name
on another database or schema (another pair, another test) is none of ours to end."""
_END_EXPIRED_HOLDER = text(
    "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN ha_lease l ON l.cluster = :cluster "
    "WHERE l.expires_at < clock_timestamp() AND l.holder IS NOT NULL AND l.holder <> :node "
    "AND a.datname = current_database() "
    f"AND a.application_name = left(:prefix || {_SCHEMA_TAG} || ':' || l.cluster || ':' || l.holder, 63) "
    "AND a.pid <> pg_backend_pid()")
_SET_NAME = f"SELECT set_config('application_name', left(%s || {_SCHEMA_TAG} || ':' || %s, 63), false)"
_LOCK_KEY = "hashtext('fixgw.ha.' || current_schema() || '.' || :cluster)"
_TRY_LOCK = text(f"SELECT pg_try_advisory_lock({_LOCK_KEY})")
_UNLOCK = text(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
_LOCK_FREE = text(f"SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                  f"AND classid::bigint = (({_LOCK_KEY})::bigint >> 32) & 4294967295 "
                  f"AND objid::bigint = ({_LOCK_KEY})::bigint & 4294967295)")


@dataclass(frozen=True, slots=True)
class LeaseState:
    """The lease row as the database sees it now (`now` is the database's clock)."""

    cluster: str
    holder: str | None
    epoch: int
    expires_at: datetime | None
    renewed_at: datetime | None
    now: datetime

    @property
    def held(self) -> bool:
        return self.holder is not None and self.expires_at is not None and self.expires_at > self.now

    @property
    def age_s(self) -> float | None:
        """Seconds since the holder last renewed."""
        return None if self.renewed_at is None else (self.now - self.renewed_at).total_seconds()


class Lease:
    """One node's view of the lease of `cluster` on a PostgreSQL engine; keeps one connection of its own."""

    def __init__(self, engine: Engine, *, cluster: str, node_id: str, lease_s: float) -> None:
        if engine.dialect.name != "postgresql":
            raise JournalError("high availability needs a PostgreSQL journal (journal.url = postgresql+psycopg://...)")
        self.engine = engine
        self.cluster = cluster
        self.node_id = node_id
        self.lease_s = lease_s
        self.epoch: int | None = None
        """The epoch this node holds (None: standby)."""
        self.has_lock = False
        """Whether this node's lease connection holds the advisory lock."""
        self.step_down_requested = False
        """Set by a renewal that found `fixgw ha step-down` asked the active to hand over."""
        self._connection: Connection | None = None

    # --- the node's own transactions ----------------------------------------------------------------------

    def acquire(self) -> int | None:
        """Become the holder if the lease is free, expired, ours already, or its holder's connection is gone
        (the advisory lock was free). Returns the new epoch, or None (someone else holds it, or an expired holder
        still locks the row: its sessions are ended and the next call takes the lease)."""
        try:
            return self._acquire()
        except JournalError as exc:
            if getattr(getattr(exc.__cause__, "orig", None), "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
        self._end_expired_holder()
        return None

    def _end_expired_holder(self) -> None:
        """A holder paused inside a write transaction keeps its lock on the lease row (pipelined statements
        awaiting their Sync are not "idle in transaction" for PostgreSQL, so no timeout ends them). Once its lease
        has expired, end every session of that node on this cluster: a fence at the database itself."""
        with self._transaction() as connection:
            ended = connection.execute(_END_EXPIRED_HOLDER, {"cluster": self.cluster, "node": self.node_id,
                                                             "prefix": _APPLICATION_PREFIX}).scalars().all()
        if ended:
            log.warning("ha.expired_holder_sessions_ended", cluster=self.cluster, sessions=len(ended))

    def _acquire(self) -> int | None:
        with self._transaction() as connection:
            # A paused holder's open transaction locks the row until PostgreSQL ends it (see install_fence): wait
            # a moment at most and try again at the next poll.
            connection.execute(text("SET LOCAL lock_timeout = '500ms'"))
            connection.execute(_ENSURE, {"cluster": self.cluster})
            if not self.has_lock:
                self.has_lock = bool(connection.execute(_TRY_LOCK, {"cluster": self.cluster}).scalar_one())
            epoch = connection.execute(_ACQUIRE, {"cluster": self.cluster, "node": self.node_id,
                                                  "lease_s": self.lease_s, "force": self.has_lock}).scalar()
        if epoch is None and self.has_lock:
            self._unlock()
        self.epoch = None if epoch is None else int(epoch)
        return self.epoch

    def renew(self) -> bool:
        """Extend our lease; False once another node took it (or we stepped down): this node is fenced."""
        if self.epoch is None:
            return False
        with self._transaction() as connection:
            renewed = connection.execute(_RENEW, {"cluster": self.cluster, "node": self.node_id,
                                                  "epoch": self.epoch, "lease_s": self.lease_s}).scalar()
            if renewed is not None and not self.has_lock:  # a holder that took over from a paused one
                self.has_lock = bool(connection.execute(_TRY_LOCK, {"cluster": self.cluster}).scalar_one())
        if renewed is None:
            self.epoch = None
        else:
            self.step_down_requested = bool(renewed)
        return renewed is not None

    def step_down(self) -> bool:
        """Give the lease up now (planned switch-over): the standby may take it at once. True if we held it."""
        epoch, self.epoch = self.epoch, None
        if epoch is None:
            return False
        with self._transaction() as connection:
            released = connection.execute(_STEP_DOWN, {"cluster": self.cluster, "node": self.node_id,
                                                       "epoch": epoch}).scalar()
        self._unlock()
        return released is not None

    def holder_connected(self) -> bool:
        """Whether some connection holds the advisory lock (the active's lease connection is alive)."""
        with self._transaction() as connection:
            return not bool(connection.execute(_LOCK_FREE, {"cluster": self.cluster}).scalar_one())

    def state(self) -> LeaseState:
        return read_state(self.engine, self.cluster)

    def report_view(self, role: str = "standby") -> None:
        """Read the journal's newest rows and record them as this node's view (the standby's lag, haview.py)."""
        with self._transaction() as connection:
            haview.report(connection, self.cluster, self.node_id, role)

    def forget_view(self) -> None:
        """This node no longer waits as standby (it became active, or stops)."""
        with self._transaction() as connection:
            haview.forget(connection, self.cluster, self.node_id)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()  # closes the database connection itself: the advisory lock goes with it
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None
            self.has_lock = False

    # --- the fence ----------------------------------------------------------------------------------------

    def install_fence(self, engine: Engine) -> None:
        """From now on every write transaction on `engine` checks that this node holds the lease at its epoch.

        And PostgreSQL ends any session of `engine` left idle inside a transaction for lease_s: a node paused in
        the middle of a write holds its FOR SHARE lock on the lease row, which would keep the standby's takeover
        waiting for as long as the pause lasts. Our transactions never idle that long."""
        event.listen(engine, "begin", self._check_fence)
        timeout_ms = int(self.lease_s * 1000)
        # Names the node's sessions (with its database and schema), so a standby can end them once this node's
        # lease has expired.
        name = f"{self.cluster}:{self.node_id}"

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms}")
                cursor.execute(_SET_NAME, (_APPLICATION_PREFIX, name))
            dbapi_connection.autocommit = autocommit

        event.listen(engine, "connect", on_connect)
        engine.dispose()  # connections opened before this point reconnect with the setting

    def remove_fence(self, engine: Engine) -> None:
        if event.contains(engine, "begin", self._check_fence):
            event.remove(engine, "begin", self._check_fence)

    def _check_fence(self, connection: Connection) -> None:
        if not connection.get_execution_options().get(WRITE_OPTION, False):
            return  # reads are not fenced: a standby may read, and reads change nothing
        epoch = self.epoch
        if epoch is None or connection.execute(
                _FENCE, {"cluster": self.cluster, "node": self.node_id, "epoch": epoch}).first() is None:
            raise FencedError(f"node {self.node_id} does not hold the HA lease of {self.cluster!r} at epoch {epoch}")

    # --- plumbing -----------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the lease connection (opened again if it broke: the advisory lock is then gone)."""
        try:
            if self._connection is None or self._connection.closed or self._connection.invalidated:
                self.close()
                self._connection = self.engine.connect()
            with self._connection.begin():
                yield self._connection
        except SQLAlchemyError as exc:
            self.close()
            raise JournalError(f"HA lease: {exc}") from exc

    def _unlock(self) -> None:
        if not self.has_lock:
            return
        self.has_lock = False
        try:
            with self._transaction() as connection:
                connection.execute(_UNLOCK, {"cluster": self.cluster})
        except JournalError:
            pass  # a broken connection released it anyway


def request_step_down(engine: Engine, cluster: str) -> tuple[str, int] | None:
    """Ask the active of `cluster` to hand over (it sees this at its next renewal): (holder, epoch), or None when
    no node holds the lease."""
    try:
        with write_transaction(engine) as connection:
            row = connection.execute(_REQUEST_STEP_DOWN, {"cluster": cluster}).first()
    except SQLAlchemyError as exc:
        raise JournalError(f"HA lease: {exc}") from exc
    return None if row is None else (str(row[0]), int(row[1]))


def read_state(engine: Engine, cluster: str) -> LeaseState:
    """The lease of `cluster` (a never-held lease reads as epoch 0, no holder)."""
    try:
        with engine.connect() as connection:
            row: Any = connection.execute(_STATUS, {"cluster": cluster}).first()
            now = row[4] if row is not None else connection.execute(text("SELECT clock_timestamp()")).scalar_one()
    except SQLAlchemyError as exc:
        raise JournalError(f"HA lease: {exc}") from exc
    if row is None:
        return LeaseState(cluster, None, 0, None, None, now)
    return LeaseState(cluster, row[0], int(row[1]), row[2], row[3], now)
