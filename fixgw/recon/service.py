"""Reconciliation inside the daemon: APScheduler 3 (BackgroundScheduler) with an end-of-day job per venue at
its cron time in `recon.timezone`, and an intraday drift job every `recon.drift.every_minutes` within trading
hours.

Persistence (why not SQLAlchemyJobStore): jobs live in memory and the bookkeeping is ours, in journal state -
`recon.last_run:<venue>` holds the scheduled time the venue's last end-of-day run covered. On start, a
scheduled time missed while the daemon was down (newer than `catch_up_hours`) runs once at once (older
misses coalesce into it). This keeps sqlalchemy inside fixgw.store, adds no table outside the migrations, and
needs no pickled callables; several gateways on one PostgreSQL journal see the same bookkeeping. Jobs run
with coalesce=True, max_instances=1 and misfire_grace_time = catch_up_hours.

HA (`claims`, fixgw/ha/jobs.py): each run claims its fire time under the active's epoch first, so a fire runs once
whoever is active; the drift interval is anchored at a fixed instant (both nodes share its fire times) and a drift
fire the old active missed runs once at takeover, as a missed end-of-day run already does.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from fixgw.config import GatewayConfig
from fixgw.ha.jobs import ANCHOR, ClaimedJob
from fixgw.logs import get_logger
from fixgw.recon.cron import crontab_trigger, latest_fire_time
from fixgw.recon.results import DRIFT, EOD, ReconListener, ReconResult
from fixgw.recon.settings import TradingHours
from fixgw.store.jobruns import JobClaims
from fixgw.store.journal import Journal
from fixgw.store.recon import ReconStore

log = get_logger("fixgw.recon.service")

LAST_RUN_PREFIX = "recon.last_run:"
TRANSFERS = "transfers"
"""The job of `recon.transfers` (scheduled and caught up like a venue's end-of-day run)."""
EodRun = Callable[[str, date], object]
"""(venue, day) -> anything: one end-of-day reconciliation (a ReconOutcome is published to listeners)."""


def in_trading_hours(hours: TradingHours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    if local.weekday() not in hours.days:
        return False
    start = time.fromisoformat(hours.start)
    end = time(23, 59, 59, 999999) if hours.end == "24:00" else time.fromisoformat(hours.end)
    return start <= local.time().replace(tzinfo=None) < end


class ReconService:
    def __init__(self, config: GatewayConfig, journal: Journal, *, run_eod: EodRun | None = None,
                 check_drift: Callable[[], object] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), claims: JobClaims | None = None) -> None:
        self.config = config
        self.claims = claims
        """HA: a run claims its fire time first (None: a single gateway, every fire runs)."""
        self.journal = journal
        self.store = ReconStore(journal)
        self._run_eod = run_eod or self._reconcile
        self._check_drift = check_drift or self._drift_all
        self._clock = clock
        self.zone = ZoneInfo(config.recon.timezone)
        self.grace = timedelta(hours=config.recon.catch_up_hours)
        self.scheduler: BackgroundScheduler | None = None
        self.triggers: dict[str, CronTrigger] = {}
        self.latest: dict[tuple[str, str], ReconResult] = {}
        """(venue, check) -> the latest result."""
        self._listeners: list[ReconListener] = []
        self._publishing = threading.Lock()

    # --- results ------------------------------------------------------------------------------------------

    def subscribe(self, listener: ReconListener) -> None:
        """Hear every result from now on, after the latest one of each venue and check (a catch-up run may have
        finished before the listener came)."""
        with self._publishing:   # delivered under the lock: a listener sees each result once, in order
            self._listeners.append(listener)
            for result in self.latest.values():
                self._deliver(listener, result)

    def unsubscribe(self, listener: ReconListener) -> None:
        with self._publishing:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, result: ReconResult) -> None:
        with self._publishing:
            self.latest[(result.venue, result.check)] = result
            for listener in self._listeners:
                self._deliver(listener, result)

    @staticmethod
    def _deliver(listener: ReconListener, result: ReconResult) -> None:
        try:
            listener(result)
        except Exception as exc:  # an operator's view never stops reconciliation
            log.exception("recon.listener_failed", venue=result.venue, check=result.check, error=repr(exc))

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        from fixgw.recon.wiring import venue_names

        recon = self.config.recon
        scheduler = BackgroundScheduler(timezone=self.zone, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": max(1, int(self.grace.total_seconds()))})
        now = self._clock()
        transfers = [TRANSFERS] if recon.transfers.enabled else []   # the transfer check runs as one more "venue"
        for venue in [*venue_names(self.config), *transfers]:
            trigger = self.trigger(venue)
            scheduler.add_job(self.eod_job, trigger, args=[venue], id=f"recon-eod:{venue}", name=f"recon {venue}")
            missed = self.missed_run(venue, now)
            if missed is not None:
                log.warning("recon.catch_up", venue=venue, scheduled=missed.isoformat())
                scheduler.add_job(self.eod_job, "date", args=[venue, missed],  # no run_date: at once
                                  id=f"recon-catch-up:{venue}", name=f"recon {venue} (missed run)")
        if recon.drift.enabled:
            every = timedelta(minutes=recon.drift.every_minutes)
            trigger = IntervalTrigger(minutes=recon.drift.every_minutes, start_date=ANCHOR, timezone=self.zone)
            ClaimedJob("recon-drift", trigger, lambda _fire: self.drift_job(), self.claims, grace=every,
                       clock=self._clock).schedule(scheduler, name="recon drift")
        scheduler.start()
        self.scheduler = scheduler
        log.info("recon.scheduler_started", venues=sorted(self.triggers), drift=recon.drift.enabled,
                 timezone=recon.timezone)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.pause()
            self.scheduler.remove_all_jobs()
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    # --- jobs ---------------------------------------------------------------------------------------------

    def trigger(self, venue: str) -> CronTrigger:
        from fixgw.recon.wiring import venue_settings

        found = self.triggers.get(venue)
        if found is None:
            expr = venue_settings(self.config, venue).eod_cron or self.config.recon.eod_cron
            if venue == TRANSFERS:
                expr = self.config.recon.transfers.cron or self.config.recon.eod_cron
            found = self.triggers[venue] = crontab_trigger(expr, self.zone)
        return found

    def missed_run(self, venue: str, now: datetime) -> datetime | None:
        """The latest scheduled time within the catch-up window that no run has covered yet."""
        due = latest_fire_time(self.trigger(venue), now, self.grace)
        if due is None:
            return None
        last = self.journal.get_state(f"{LAST_RUN_PREFIX}{venue}")
        if last is not None and datetime.fromisoformat(last) >= due:
            return None
        return due

    def eod_job(self, venue: str, scheduled: datetime | None = None) -> None:
        """Reconcile the day the scheduled time falls on (local), then record the time as covered."""
        due = scheduled or latest_fire_time(self.trigger(venue), self._clock(), timedelta(days=8)) or self._clock()
        if self.claims is None:
            self._eod(venue, due)
        else:  # HA: once per fire time, whoever is active (a run its node did not finish is run again)
            self.claims.run_once(f"recon-eod:{venue}", due, lambda: self._eod(venue, due))

    def _eod(self, venue: str, due: datetime) -> bool:
        day = due.astimezone(self.zone).date()
        try:
            outcome = self._run_eod(venue, day)
        except Exception as exc:  # a job never takes the scheduler down; the next run tries again
            log.exception("recon.job_failed", venue=venue, date=day.isoformat(), error=repr(exc))
            self.publish(ReconResult(venue, EOD, self._clock(), f"failed: {exc}", day=day, failed=True))
            return False
        self.store.put_state({f"{LAST_RUN_PREFIX}{venue}": due.isoformat()})
        from fixgw.recon.report import ReconOutcome

        if isinstance(outcome, ReconOutcome):
            kinds = Counter(found.kind.value for found in outcome.breaks)
            summary = "clean" if outcome.clean else f"{len(outcome.breaks)} break(s)"
            self.publish(ReconResult(venue, EOD, self._clock(), summary, dict(kinds), day=day))
        return True

    def drift_job(self) -> None:
        if not in_trading_hours(self.config.recon.drift.trading_hours, self._clock()):
            return
        try:
            readings = self._check_drift()
        except Exception as exc:
            log.exception("recon.drift_failed", error=repr(exc))
            return
        from fixgw.recon.drift import DriftReading

        for venue, reading in (readings.items() if isinstance(readings, dict) else ()):
            if isinstance(reading, DriftReading):   # None: no baseline yet, nothing measured
                breaks = {"balance_drift": 1} if reading.breached else {}
                self.publish(ReconResult(venue, DRIFT, self._clock(), reading.describe(), breaks))

    # --- the default work ---------------------------------------------------------------------------------

    def _reconcile(self, venue: str, day: date) -> object:
        from fixgw.recon.drift import DriftCheck
        from fixgw.recon.rest_source import RestSource
        from fixgw.recon.wiring import load_symbols, reconciler_for, source_for

        if venue == TRANSFERS:
            from fixgw.recon.transfers.run import TransferReconciler

            return TransferReconciler(self.config, self.journal).run(day)
        symbols = load_symbols(self.config)
        source = source_for(self.config, self.journal, symbols, venue, day)
        outcome = reconciler_for(self.config, self.journal, symbols).run(venue, day, source)
        if outcome.clean and isinstance(source, RestSource):   # a clean day confirms the venue's balances
            DriftCheck(self.journal, symbols, self.config.recon.drift.threshold_pct).set_baseline(
                venue, source.balances())
        return outcome

    def drift_venues(self) -> list[str]:
        configured = self.config.recon.drift.venues
        return list(configured) if configured is not None else sorted(self.config.venues)

    def _drift_all(self) -> dict[str, Any]:
        from fixgw.recon.drift import DriftCheck
        from fixgw.recon.rest_source import RestSource
        from fixgw.recon.wiring import load_symbols, venue_settings

        symbols = load_symbols(self.config)
        drift = self.config.recon.drift
        check = DriftCheck(self.journal, symbols, drift.threshold_pct, pause=drift.pause_trading)
        readings: dict[str, Any] = {}
        for venue in self.drift_venues():
            section = self.config.venues.get(venue)
            if section is None:
                log.warning("recon.drift_skipped", venue=venue, reason="not a REST venue: no balances to compare")
                continue
            account = venue_settings(self.config, venue).account
            balances = RestSource(section, symbols, self.store).balances()
            readings[venue] = check.check(venue, balances, scope=f"account:{account}" if account else None)
        return readings
