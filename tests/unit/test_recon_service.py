"""The scheduler inside the daemon: a missed end-of-day run after downtime runs once on start, a covered one
does not, trading hours gate the drift job; and the drift measure itself (pure)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from waiting import wait_until

from fixgw.config import GatewayConfig, parse_config
from fixgw.recon.drift import asset_prices, measure
from fixgw.recon.service import LAST_RUN_PREFIX, ReconService, crontab_trigger, in_trading_hours, latest_fire_time
from fixgw.recon.settings import TradingHours
from fixgw.store import Journal
from fixgw.store.recon import ReconStore

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)          # a Friday, one hour after the 17:00 UTC run


def config(tmp_path: Path, journal_url: str, **recon: Any) -> GatewayConfig:
    section = {"enabled": True, "timezone": "UTC", "eod_cron": "0 17 * * 1-5", "catch_up_hours": 24,
               "drift": {"enabled": False}, "venues": {"equities": {"statement_dir": str(tmp_path)}}, **recon}
    return parse_config({"state_dir": str(tmp_path / "state"), "journal": {"url": journal_url}, "recon": section})


def started(cfg: GatewayConfig, journal: Journal, now: datetime) -> tuple[ReconService, list[tuple[str, date]]]:
    calls: list[tuple[str, date]] = []
    lock = threading.Lock()

    def run(venue: str, day: date) -> None:
        with lock:
            calls.append((venue, day))

    service = ReconService(cfg, journal, run_eod=run, clock=lambda: now)
    service.start()
    return service, calls


def test_a_run_missed_while_down_runs_once_on_start_and_is_recorded(journal: Journal, tmp_path: Path,
                                                                    journal_url: str) -> None:
    cfg = config(tmp_path, journal_url)
    service, calls = started(cfg, journal, NOW)
    try:
        assert wait_until(lambda: journal.get_state(f"{LAST_RUN_PREFIX}equities") is not None)
        assert calls == [("equities", date(2026, 11, 20))]
        assert journal.get_state(f"{LAST_RUN_PREFIX}equities") == datetime(2026, 11, 20, 17, tzinfo=UTC).isoformat()
        [job] = [j for j in service.scheduler.get_jobs() if j.id == "recon-eod:equities"]  # type: ignore[union-attr]
        assert job.next_run_time is not None
    finally:
        service.stop()
    # Started again later the same day: the run is covered, nothing runs on start.
    again, calls = started(cfg, journal, NOW + timedelta(hours=2))
    try:
        assert again.missed_run("equities", NOW + timedelta(hours=2)) is None
        time.sleep(0.2)  # nothing to wait for: give a wrongly scheduled catch-up the chance to show itself
        assert calls == []
    finally:
        again.stop()


def test_missed_runs_coalesce_and_old_ones_are_not_caught_up(journal: Journal, tmp_path: Path,
                                                             journal_url: str) -> None:
    ReconStore(journal).put_state({f"{LAST_RUN_PREFIX}equities": datetime(2026, 11, 16, 17, tzinfo=UTC).isoformat()})
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)          # down since Monday 16th: Friday's run is the one
    service = ReconService(config(tmp_path, journal_url, catch_up_hours=72), journal, clock=lambda: monday)
    assert service.missed_run("equities", monday) == datetime(2026, 11, 20, 17, tzinfo=UTC)
    short = ReconService(config(tmp_path, journal_url, catch_up_hours=12), journal, clock=lambda: monday)
    assert short.missed_run("equities", monday) is None         # older than the catch-up window
    weekend = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)          # crontab weekdays: 1-5 is Monday to Friday
    assert service.missed_run("equities", weekend) == datetime(2026, 11, 20, 17, tzinfo=UTC)


def test_a_failed_run_is_not_recorded_as_done(journal: Journal, tmp_path: Path, journal_url: str) -> None:
    attempts: list[date] = []

    def broken(venue: str, day: date) -> None:
        attempts.append(day)
        raise RuntimeError("statement not there yet")

    service = ReconService(config(tmp_path, journal_url), journal, run_eod=broken, clock=lambda: NOW)
    service.start()
    try:
        assert wait_until(lambda: attempts == [date(2026, 11, 20)])
        assert journal.get_state(f"{LAST_RUN_PREFIX}equities") is None
        assert service.missed_run("equities", NOW) is not None   # still due at the next start
    finally:
        service.stop()


def test_the_default_job_reconciles_the_statement_in_the_drop_folder(journal: Journal, tmp_path: Path,
                                                                     journal_url: str) -> None:
    (tmp_path / "equities-2026-11-20.csv").write_text("record_type,trade_id,instrument,side,qty,price,time\n"
                                                      "trade,B-1,AAPL,buy,1,190,2026-11-20T15:00:00Z\n")
    service = ReconService(config(tmp_path, journal_url), journal, clock=lambda: NOW)
    service.start()
    try:
        assert wait_until(lambda: journal.get_state("recon:2026-11-20") is not None)
        assert journal.get_state("recon:2026-11-20") == "breaks"             # B-1 is missing internally
        assert wait_until(lambda: journal.get_state(f"{LAST_RUN_PREFIX}equities") is not None)
        assert (tmp_path / "state" / "recon" / "2026-11-20" / "equities.breaks.csv").is_file()
    finally:
        service.stop()


def test_latest_fire_time_and_trading_hours() -> None:
    trigger = crontab_trigger("30 17 * * 1-5", ZoneInfo("America/New_York"))
    saturday = datetime(2026, 11, 21, 12, tzinfo=UTC)
    sunday = datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert latest_fire_time(trigger, sunday, timedelta(days=3)) == datetime(2026, 11, 20, 22, 30, tzinfo=UTC)
    assert latest_fire_time(trigger, saturday, timedelta(days=3)) == datetime(2026, 11, 20, 22, 30, tzinfo=UTC)
    assert latest_fire_time(trigger, saturday, timedelta(hours=3)) is None
    hours = TradingHours(timezone="America/New_York", start="09:30", end="16:00")
    assert in_trading_hours(hours, datetime(2026, 11, 20, 15, tzinfo=UTC))          # 10:00 New York
    assert not in_trading_hours(hours, datetime(2026, 11, 20, 22, tzinfo=UTC))      # 17:00
    assert not in_trading_hours(hours, datetime(2026, 11, 21, 15, tzinfo=UTC))      # Saturday
    always = TradingHours(timezone="UTC", start="00:00", end="24:00", days=list(range(7)))
    assert in_trading_hours(always, datetime(2026, 11, 21, 23, 59, tzinfo=UTC))


@pytest.mark.parametrize(("ours", "theirs", "breached"), [
    ({"USD": Decimal(1000), "BTC": Decimal(1)}, {"USD": Decimal(1000), "BTC": Decimal(1)}, False),
    ({"USD": Decimal(1000), "BTC": Decimal(1)}, {"USD": Decimal(1004), "BTC": Decimal(1)}, False),   # 0.36%
    ({"USD": Decimal(1000), "BTC": Decimal(1)}, {"USD": Decimal(1010), "BTC": Decimal(1)}, True),    # 0.9%
    ({"USD": Decimal(1000)}, {"USD": Decimal(1000), "DOGE": Decimal(5)}, True),                      # unpriced
])
def test_drift_measure(ours: dict[str, Decimal], theirs: dict[str, Decimal], breached: bool) -> None:
    reading = measure("cbp", ours, theirs, {"USD": Decimal(1), "BTC": Decimal(100)}, Decimal("0.5"))
    assert reading.breached is breached
    assert reading.describe()


def test_margin_usage_drift_counts_too() -> None:
    same = {"USD": Decimal(10_000)}
    reading = measure("cbp", same, same, {"USD": Decimal(1)}, Decimal("0.5"),
                      ours_held={"USD": Decimal(0)}, theirs_held={"USD": Decimal(100)})
    assert reading.breached and "held:USD" in reading.drifts


def test_asset_prices_from_last_fills() -> None:
    from fixgw.model.instruments import SymbolMaster

    repo = Path(__file__).resolve().parents[2]
    symbols = SymbolMaster.from_toml((repo / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    prices = asset_prices(symbols, {"BTC/USD": Decimal(60000), "AAPL": Decimal(190)})
    assert prices == {"USD": Decimal(1), "BTC": Decimal(60000)}


def test_results_reach_subscribers_even_those_that_came_after_the_run(journal: Journal, tmp_path: Path,
                                                                      journal_url: str) -> None:
    from fixgw.recon.drift import DriftReading
    from fixgw.recon.results import ReconResult

    (tmp_path / "equities-2026-11-20.csv").write_text("record_type,trade_id,instrument,side,qty,price,time\n"
                                                      "trade,B-1,AAPL,buy,1,190,2026-11-20T15:00:00Z\n")
    breached = DriftReading("crypto", Decimal(1000), Decimal(30), Decimal(3), Decimal(1))
    always = {"trading_hours": {"timezone": "UTC", "start": "00:00", "end": "24:00", "days": list(range(7))}}
    cfg = config(tmp_path, journal_url, drift={"enabled": False, **always})
    service = ReconService(cfg, journal, check_drift=lambda: {"crypto": breached, "other": None}, clock=lambda: NOW)
    service.eod_job("equities", datetime(2026, 11, 20, 17, tzinfo=UTC))
    heard: list[ReconResult] = []
    service.subscribe(heard.append)          # late: the run's result is replayed
    service.drift_job()
    assert [(r.venue, r.check, r.breaks, r.day) for r in heard] == [
        ("equities", "eod", {"missing_internally": 1}, date(2026, 11, 20)),
        ("crypto", "drift", {"balance_drift": 1}, None)]
    service.unsubscribe(heard.append)
    service.drift_job()
    assert len(heard) == 2
