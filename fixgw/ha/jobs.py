"""Scheduled jobs under HA: each fire time runs once, whoever is active (claims: fixgw/store/jobruns.py).

A `ClaimedJob` is what APScheduler calls: it works out the fire time it stands for (the trigger's latest at or
before now - both nodes compute the same ones: cron triggers, or intervals anchored at ANCHOR), claims it under
the active's epoch and runs the work only if the claim is its own. `missed(now)` is the misfire policy at
takeover: the latest fire within `grace` that no run finished (older ones coalesce into it) is run once, at once.
Without claims (a single gateway) the job just runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.triggers.base import BaseTrigger

from fixgw.recon.cron import latest_fire_time
from fixgw.store.jobruns import JobClaims

log = structlog.get_logger("fixgw.ha.jobs")

ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
"""Interval triggers start here, not at each process's start: every node computes the same fire times."""


class ClaimedJob:
    def __init__(self, job_id: str, trigger: BaseTrigger, work: Callable[[datetime], object],
                 claims: JobClaims | None, *, grace: timedelta,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """`work(fire_time)` returns False when the run failed (its claim is then given up)."""
        self.job_id = job_id
        self.trigger = trigger
        self.work = work
        self.claims = claims
        self.grace = grace
        self._clock = clock

    def __call__(self, scheduled: datetime | None = None) -> bool:
        """Run for `scheduled` (a catch-up) or for the latest fire time; True if this node ran it."""
        fire = scheduled or latest_fire_time(self.trigger, self._clock(), self.grace) or self._clock()
        if self.claims is None:
            self.work(fire)
            return True
        return self.claims.run_once(self.job_id, fire, lambda: self.work(fire))

    def missed(self, now: datetime) -> datetime | None:
        """The latest fire within the grace that no run finished (only with claims: a takeover's catch-up)."""
        if self.claims is None:
            return None
        due = latest_fire_time(self.trigger, now, self.grace)
        if due is None or self.claims.finished(self.job_id, due):
            return None
        return due

    def schedule(self, scheduler: Any, *, name: str) -> datetime | None:
        """Add to an APScheduler scheduler, with a run at once for a missed fire; returns that fire, if any."""
        scheduler.add_job(self, self.trigger, id=self.job_id, name=name)
        missed = self.missed(self._clock())
        if missed is not None:
            log.warning("ha.job_catch_up", job=self.job_id, fire_time=missed.isoformat())
            scheduler.add_job(self, "date", args=[missed], id=f"{self.job_id}:catch-up", name=f"{name} (missed)")
        return missed
