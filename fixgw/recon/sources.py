"""The one interface every broker-side source implements, and the window of one reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from fixgw.recon.records import BrokerSide

Progress = Callable[[int], None]
"""Called with the number of records read so far (for a progress bar); may be a no-op."""


class SourceError(Exception):
    """A broker source could not be read (missing file, bad row, unreachable venue): the run has no result."""


@dataclass(frozen=True, slots=True)
class ReconWindow:
    """One venue's trading day: [start, end) in UTC, the local day in `timezone`."""

    venue: str
    day: date
    timezone: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, venue: str, day: date, timezone: str) -> ReconWindow:
        zone = ZoneInfo(timezone)
        start = datetime.combine(day, time(0), zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
        return cls(venue, day, timezone, start, end)


class BrokerSource(Protocol):
    description: str
    """Where the broker's side comes from, for reports and the run's record (a file path, "fix:<session>")."""

    def load(self, window: ReconWindow, progress: Progress | None = None) -> BrokerSide:
        """The broker's trades of the window (and positions / cash when the source reports them)."""
