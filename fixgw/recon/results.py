"""What the daemon's scheduled reconciliation reports to operators (no scheduler import: ops reads this)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

EOD, DRIFT = "eod", "drift"
"""The scheduled checks: end-of-day reconciliation, intraday balance drift."""


@dataclass(frozen=True, slots=True)
class ReconResult:
    """What one scheduled check found at one venue, for operators (metrics, alerts, the status page)."""

    venue: str
    check: str
    """EOD (end-of-day reconciliation) or DRIFT (intraday balances)."""
    at: datetime
    summary: str
    breaks: dict[str, int] = field(default_factory=dict)
    """Open breaks by kind after this check (empty: clean); a failed check found nothing either way."""
    day: date | None = None
    failed: bool = False


ReconListener = Callable[[ReconResult], None]
