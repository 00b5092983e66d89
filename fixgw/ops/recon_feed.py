"""Scheduled reconciliation as operators see it: each result of the daemon's recon service (end of day, drift)
feeds the break metrics (`fixgw_recon_breaks_total`, `fixgw_recon_open_breaks`), and through them the
`recon_breaks:all` alert, and the status page's reconciliation table."""

from __future__ import annotations

import threading
from typing import Any

from fixgw.ops.metrics import GatewayMetrics
from fixgw.recon.results import DRIFT, ReconResult


class ReconBoard:
    """The latest result per (venue, check); subscribe it to a `ReconService` (it is called on scheduler threads)."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        self._latest: dict[tuple[str, str], ReconResult] = {}
        self._open: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, result: ReconResult) -> None:
        key = (result.venue, result.check)
        with self._lock:
            self._latest[key] = result
            if result.failed:
                return  # a failed run proves nothing: the breaks known before stay open
            was_open = self._open.get(key, 0)
            self._open[key] = sum(result.breaks.values())
            open_at_venue = sum(count for (venue, _), count in self._open.items() if venue == result.venue)
        # An end-of-day run reports what it found; a drift that persists is one break, counted when it starts.
        found = result.breaks if result.check != DRIFT or not was_open else {}
        self.metrics.report_recon_breaks(result.venue, found, open_at_venue)

    def rows(self) -> list[dict[str, Any]]:
        """One row per venue and check, for the status page."""
        with self._lock:
            latest = sorted(self._latest.values(), key=lambda r: (r.venue, r.check))
            open_counts = dict(self._open)
        return [{"venue": r.venue, "check": r.check, "day": r.day.isoformat() if r.day else "",
                 "at": r.at.strftime("%Y-%m-%d %H:%M:%S"), "failed": r.failed,
                 "open_breaks": open_counts.get((r.venue, r.check), 0), "summary": r.summary} for r in latest]
