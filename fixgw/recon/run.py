"""One reconciliation run: load both sides, match, persist the run and its breaks (journal), write the reports,
set `recon:<date>`, and raise an alert (log event `alert`, kind=recon_breaks) when anything broke."""

from __future__ import annotations

import gc
import operator
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import compress
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from fixgw.logs import get_logger
from fixgw.model.enums import AssetClass
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.recon.journal_sources import internal_trades
from fixgw.recon.matching import TradeMatcher, cash_from_trades, match_holdings, positions_from_trades
from fixgw.recon.records import Break, BrokerSide, Category, Tolerances, TradeTable
from fixgw.recon.report import ReconOutcome, write_reports
from fixgw.recon.settlement import SettlementRules
from fixgw.recon.sources import BrokerSource, Progress, ReconWindow
from fixgw.store.journal import Journal
from fixgw.store.recon import BREAKS, CLEAN, BreakRecord, ReconRunRecord, ReconStore

log = get_logger("fixgw.recon")

ALERT_KIND = "recon_breaks"
PERCENT_OF_PAR = Decimal("0.01")

Phase = Callable[[str], Progress]
"""Given a phase name ("ours", "broker", "match", "save"), a progress callback for it."""


class Reconciler:
    def __init__(self, journal: Journal, symbols: SymbolMaster, settlement: SettlementRules, tolerances: Tolerances,
                 *, timezone: str = "UTC", output_dir: Path | None = None) -> None:
        self.store = ReconStore(journal)
        self.symbols = symbols
        self.settlement = settlement
        self.tolerances = tolerances
        self.timezone = timezone
        self.output_dir = output_dir

    def run(self, venue: str, day: date, source: BrokerSource, phase: Phase | None = None) -> ReconOutcome:
        with gc_paused():
            return self._run(venue, day, source, phase)

    def _run(self, venue: str, day: date, source: BrokerSource, phase: Phase | None) -> ReconOutcome:
        started = datetime.now(UTC)
        window = ReconWindow.of(venue, day, self.timezone)
        step = phase or (lambda _name: _no_progress)
        ours = internal_trades(self.store, window, step("ours"))
        theirs = source.load(window, step("broker"))
        broker_trades = TradeTable.of(theirs.trades)
        self._settle(ours, window, inside=True)        # read by the window: every one trades that day
        self._settle(broker_trades, window)
        match_progress = step("match")
        result = TradeMatcher(self.tolerances, self._tick_size).match(ours, broker_trades)
        result.breaks.extend(self._holdings(ours, theirs))
        match_progress(len(ours))
        outcome = ReconOutcome(f"{day.isoformat()}:{venue}:{uuid.uuid4().hex[:12]}", venue, day, source.description,
                               result, _by_settle_date(ours, broker_trades))
        step("save")(0)
        record = ReconRunRecord(outcome.run_id, day.isoformat(), venue, source.description, started,
                                datetime.now(UTC), BREAKS if result.breaks else CLEAN, result.counts())
        outcome.day_status = self.store.record_run(record, [_record(found) for found in result.breaks])
        if self.output_dir is not None:
            outcome.reports = write_reports(outcome, self.output_dir)
        self._announce(outcome)
        return outcome

    # --- helpers ------------------------------------------------------------------------------------------

    def _settle(self, trades: TradeTable, window: ReconWindow, *, inside: bool = False) -> None:
        """Each trade's settlement date from its trade date (local day in the recon time zone) and instrument."""
        settle, day, instruments = self.settlement.settle_date, window.day, trades.instrument_ids
        on_the_day = {instrument: settle(instrument, day) for instrument in set(instruments)}
        dates: list[date | None] = list(map(on_the_day.__getitem__, instruments))
        times = trades.times
        if not inside and times and (min(times) < window.start or max(times) >= window.end):  # any outside
            zone = ZoneInfo(window.timezone)
            outside = map(operator.or_, map(window.start.__gt__, times), map(window.end.__le__, times))
            for row in compress(range(len(dates)), outside):
                dates[row] = settle(instruments[row], times[row].astimezone(zone).date())
        trades.settle_dates = dates

    def _holdings(self, ours: TradeTable, theirs: BrokerSide) -> list[Break]:
        found: list[Break] = []
        if theirs.positions is not None:
            mine = positions_from_trades(ours, theirs.opening_positions)
            found += match_holdings(mine, theirs.positions, self.tolerances.qty, Category.POSITION)
        if theirs.cash is not None:
            cash = cash_from_trades(ours, self._legs, theirs.opening_cash)
            found += match_holdings(cash, theirs.cash, self.tolerances.cash, Category.CASH)
        return found

    def _tick_size(self, instrument_id: str) -> Decimal | None:
        try:
            return self.symbols.get(instrument_id).tick_size
        except UnknownSymbolError:
            return None

    def _legs(self, instrument_id: str) -> tuple[str, str | None, Decimal]:
        try:
            instrument = self.symbols.get(instrument_id)
        except UnknownSymbolError:
            return "UNKNOWN", None, Decimal(1)
        multiplier = PERCENT_OF_PAR if instrument.asset_class is AssetClass.FIXED_INCOME else Decimal(1)
        return instrument.currency, instrument.base_currency, multiplier

    def _announce(self, outcome: ReconOutcome) -> None:
        counts = outcome.result.counts()
        bound = log.bind(venue=outcome.venue, date=outcome.day.isoformat(), run_id=outcome.run_id)
        bound.info("recon.done", result="clean" if outcome.clean else "breaks", day_status=outcome.day_status,
                   source=outcome.source, **counts)
        if not outcome.clean:
            kinds = Counter(found.kind.value for found in outcome.breaks)
            bound.warning("alert", kind=ALERT_KIND, scope=f"venue:{outcome.venue}", breaks=len(outcome.breaks),
                          by_kind=dict(kinds), reports=[str(path) for path in outcome.reports],
                          message=f"{len(outcome.breaks)} reconciliation break(s) at {outcome.venue} for "
                                  f"{outcome.day.isoformat()}")


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while millions of acyclic records are built (it rescans them all, over and
    over: ~40% of the load time); restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _no_progress(_count: int) -> None:
    return None


def _by_settle_date(ours: TradeTable, theirs: TradeTable) -> dict[str, tuple[int, int]]:
    mine, broker = _count_dates(ours.settle_dates), _count_dates(theirs.settle_dates)
    return {key.isoformat(): (mine[key], broker[key]) for key in sorted(set(mine) | set(broker))}


def _count_dates(dates: list[date | None]) -> Counter[date]:
    distinct = set(dates)          # a handful of dates: counted in C (a fifth of a Counter's time)
    counts = Counter({day: dates.count(day) for day in distinct}) if len(distinct) <= 16 else Counter(dates)
    counts.pop(None, None)
    return cast(Counter[date], counts)


def _record(found: Break) -> BreakRecord:
    return BreakRecord(found.category.value, found.kind.value, found.ref, found.detail, dict(found.evidence()),
                       found.instrument_id, found.settle_date.isoformat() if found.settle_date else None)
