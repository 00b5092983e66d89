"""What each HA node has read of the journal, and how far a standby is behind the active's latest write.

A standby reports its view at every poll of the lease (`report`): the newest `events` and `messages` rows it has
read, stamped with the database's clock. `read_views` compares each view with the journal now: `rows_behind` is
how many rows were written after it (counted up to ROWS_COUNTED), and `lag_s` how long the journal has been
ahead of it - the view's age when anything was written since, else 0. A standby that stopped reading (hung,
cut off from the database) shows a lag that grows; one that keeps up stays within its poll interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from fixgw.store.records import JournalError

ROWS_COUNTED = 100_000
"""Rows behind are counted up to this (a standby down for a day is simply "far behind")."""

_REPORT = text(
    "INSERT INTO ha_node_view (cluster, node, role, events_seen, messages_seen, reported_at) "
    "SELECT :cluster, :node, :role, (SELECT coalesce(max(id), 0) FROM events), "
    "(SELECT coalesce(max(id), 0) FROM messages), clock_timestamp() "
    "ON CONFLICT (cluster, node) DO UPDATE SET role = excluded.role, events_seen = excluded.events_seen, "
    "messages_seen = excluded.messages_seen, reported_at = excluded.reported_at")
_FORGET = text("DELETE FROM ha_node_view WHERE cluster = :cluster AND node = :node")
_READ = text(
    "SELECT v.node, v.role, v.events_seen, v.messages_seen, v.reported_at, clock_timestamp(), "
    f"(SELECT count(*) FROM (SELECT 1 FROM events e WHERE e.id > v.events_seen LIMIT {ROWS_COUNTED}) a) + "
    f"(SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.id > v.messages_seen LIMIT {ROWS_COUNTED}) b) "
    "FROM ha_node_view v WHERE v.cluster = :cluster ORDER BY v.node")


@dataclass(frozen=True, slots=True)
class NodeView:
    node: str
    role: str
    events_seen: int
    messages_seen: int
    reported_at: datetime
    now: datetime
    rows_behind: int

    @property
    def age_s(self) -> float:
        """Seconds since the node last read the journal."""
        return max(0.0, (self.now - self.reported_at).total_seconds())

    @property
    def lag_s(self) -> float:
        """Seconds the journal has been ahead of this view: its age once something was written after it."""
        return self.age_s if self.rows_behind else 0.0

    def to_json(self) -> dict[str, object]:
        return {"node": self.node, "role": self.role, "lag_s": round(self.lag_s, 3),
                "rows_behind": self.rows_behind, "view_age_s": round(self.age_s, 3),
                "events_seen": self.events_seen, "messages_seen": self.messages_seen}


def report(connection: Connection, cluster: str, node: str, role: str) -> None:
    """Read the journal's newest rows and record them as this node's view (inside the caller's transaction)."""
    connection.execute(_REPORT, {"cluster": cluster, "node": node, "role": role})


def forget(connection: Connection, cluster: str, node: str) -> None:
    connection.execute(_FORGET, {"cluster": cluster, "node": node})


def read_views(engine: Engine, cluster: str, *, exclude: str | None = None) -> list[NodeView]:
    """Every node's view of the journal, compared with the journal now (`exclude`: the active itself)."""
    try:
        with engine.connect() as connection:
            rows: list[Any] = list(connection.execute(_READ, {"cluster": cluster}))
    except SQLAlchemyError as exc:
        raise JournalError(f"HA node views: {exc}") from exc
    return [NodeView(str(r[0]), str(r[1]), int(r[2]), int(r[3]), r[4], r[5], int(r[6])) for r in rows
            if r[0] != exclude]


def standby_lag(views: list[NodeView]) -> float | None:
    """The largest lag of the standbys (None: no standby has reported)."""
    lags = [view.lag_s for view in views if view.role == "standby"]
    return max(lags) if lags else None
