"""Benchmark reconciliation of N fills (default 1,000,000; target: under 10 s on the project machine).

    PYTHONPATH=. .venv/bin/python scripts/bench_recon.py [--fills N] [--journal] [--data DIR] [--repeat K]

Phases measured separately, then the whole run:
  match      the matching engine on N of ours vs N of the broker's trades (settlement dates included), with a
             handful of breaks of every kind injected (so the fallback and break paths run too), both sides as
             the column tables the sources produce;
  statement  parsing an N-row broker statement CSV (exact decimals, FIX timestamps) into trades;
  journal    (--journal) reading N journaled fills out of a SQLite journal with their orders, and a full
             `Reconciler.run` (journal + statement + match + persisting the breaks).
--data DIR keeps the statement and journal there and reuses them on the next run with the same N (writing the
journal takes longer than reconciling it); --repeat K runs the measured phases K times (the machine is shared:
compare the best, and the CPU times). Wall and CPU time per phase, load average and peak RSS are printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fixgw.model.enums import OrdStatus, OrdType, Side  # noqa: E402
from fixgw.model.instruments import SymbolMaster  # noqa: E402
from fixgw.model.orders import Fill  # noqa: E402
from fixgw.model.state import Order  # noqa: E402
from fixgw.recon.matching import TradeMatcher  # noqa: E402
from fixgw.recon.records import Tolerances, Trade, TradeTable  # noqa: E402
from fixgw.recon.run import Reconciler, gc_paused  # noqa: E402
from fixgw.recon.settlement import SettlementRules, load_calendars  # noqa: E402
from fixgw.recon.sources import ReconWindow  # noqa: E402
from fixgw.recon.statement import StatementSource, load_mapping  # noqa: E402

DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
INSTRUMENTS = ("AAPL", "MSFT", "SPY", "BTC/USD", "ETH/USD")
PRICES = {"AAPL": Decimal("190.25"), "MSFT": Decimal("410.10"), "SPY": Decimal("590.55"),
          "BTC/USD": Decimal("60123.45"), "ETH/USD": Decimal("3012.34")}
FILLS_PER_ORDER = 1000


def trades(count: int) -> list[Trade]:
    made = []
    for n in range(count):
        order = n // FILLS_PER_ORDER                                 # each order: one instrument, one side
        instrument = INSTRUMENTS[order % len(INSTRUMENTS)]
        made.append(Trade(f"E{n}", instrument, Side.BUY if order % 3 else Side.SELL, Decimal(1 + n % 500),
                          PRICES[instrument] + Decimal(n % 7) / 100, START + timedelta(microseconds=n * 20_000),
                          "ACC1", f"O{order}"))
    return made


def broken(ours: list[Trade]) -> list[Trade]:
    """The broker's copy with 5 breaks of every kind (and 5 trades matched only by the fallback key)."""
    theirs = [Trade(t.trade_id, t.instrument_id, t.side, t.qty, t.price, t.at, t.account, t.order_ref) for t in ours]
    step = len(theirs) // 40
    for k in range(5):
        theirs[step * (8 * k + 1)].qty += 1                                    # quantity mismatch
        theirs[step * (8 * k + 2)].price += Decimal("0.05")                     # price mismatch
        theirs.append(theirs[step * (8 * k + 3)])                                # duplicate
        theirs[step * (8 * k + 4)].trade_id = f"BROKER-{k}"                      # fallback key
        theirs[step * (8 * k + 5)] = theirs[-1 - k]                              # missing at broker (+ a dup)
    theirs += [Trade(f"X{k}", "AAPL", Side.BUY, Decimal(3), Decimal("1.5"), START, "ACC1") for k in range(5)]
    return theirs


def timed(label: str, work):  # type: ignore[no-untyped-def]
    """Wall time and this process's CPU time (on a shared machine the CPU time is the steadier figure)."""
    started, cpu = time.perf_counter(), time.process_time()
    with gc_paused():  # as Reconciler.run does
        result = work()
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<52} {elapsed:7.2f} s wall {used:7.2f} s cpu")
    return result, elapsed


def write_statement(path: Path, source: list[Trade]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("RecordType,ExecID,OrderID,ClOrdID,Account,Symbol,Side,Quantity,Price,TradeTime,Opening\n")
        for t in source:
            handle.write(f"TRD,{t.trade_id},{t.order_ref},,{t.account},{t.instrument_id},{t.side.value},{t.qty},"
                         f"{t.price},{t.at.strftime('%Y%m%d-%H:%M:%S.%f')},\n")


def write_journal(url: str, source: list[Trade]) -> None:
    from fixgw.store import Journal, JournalBatch

    with Journal(url) as journal:
        for first in range(0, len(source), FILLS_PER_ORDER):
            chunk = source[first:first + FILLS_PER_ORDER]
            head = chunk[0]
            order = Order(order_id=head.order_ref or "", ems_session="EMS1", cl_ord_id=f"C-{head.order_ref}",
                          account="ACC1", instrument_id=head.instrument_id, side=head.side, ord_type=OrdType.LIMIT,
                          order_qty=sum((t.qty for t in chunk), Decimal(0)), price=head.price, venue="bench",
                          venue_order_id=head.order_ref, status=OrdStatus.FILLED, created_at=START, updated_at=START)
            batch = JournalBatch(orders={order.order_id: order})
            batch.fills = [(order.order_id, Fill(exec_id=t.trade_id, venue="bench", qty=t.qty, price=t.price,
                                                 time=t.at)) for t in chunk]
            journal.write(batch)


def settle(table: TradeTable, rules: SettlementRules) -> None:
    """Settlement dates as `Reconciler.run` sets them for trades inside the day (one lookup per instrument)."""
    on_the_day = {instrument: rules.settle_date(instrument, DAY) for instrument in set(table.instrument_ids)}
    table.settle_dates = list(map(on_the_day.__getitem__, table.instrument_ids))


def prepare(data: Path, fills: int, ours: list[Trade], theirs: list[Trade], journal: bool) -> None:
    """The statement (and journal) of `fills` in `data`, written unless the folder already holds them."""
    made = data / "fills.txt"          # reused only for the same N
    if not (made.is_file() and made.read_text() == str(fills)):
        for old in (data / "statement.csv", data / "journal.db", made):
            old.unlink(missing_ok=True)
        timed("write the statement CSV (not timed below)", lambda: write_statement(data / "statement.csv", theirs))
        made.write_text(str(fills))
    if journal and not (data / "journal.db").is_file():
        timed("write the journal (not part of recon)", lambda: write_journal(f"sqlite:///{data / 'journal.db'}", ours))


def measure(data: Path, tables: tuple[TradeTable, TradeTable], symbols: SymbolMaster, rules: SettlementRules,
            journal: bool) -> None:
    """One pass over the measured phases."""
    ticks = {instrument.id: instrument.tick_size for instrument in symbols}

    def settle_and_match():  # type: ignore[no-untyped-def]
        for table in tables:
            settle(table, rules)
        return TradeMatcher(Tolerances(), ticks.get).match(*tables)

    result, match_s = timed("match (settlement dates + matching engine)", settle_and_match)
    print(f"  {result.counts()}")
    source = StatementSource(data / "statement.csv", load_mapping(ROOT / "specs" / "recon" / "fix-broker-sim.toml"),
                             symbols)
    window = ReconWindow.of("bench", DAY, "America/New_York")
    parsed, parse_s = timed("statement: parse CSV into trades", lambda: source.load(window))
    assert len(parsed.trades) == len(tables[1])
    del parsed
    print(f"{'statement + match':<52} {parse_s + match_s:7.2f} s wall")
    if not journal:
        return
    from fixgw.recon.journal_sources import internal_trades
    from fixgw.store import Journal
    from fixgw.store.recon import ReconStore

    with Journal(f"sqlite:///{data / 'journal.db'}") as store:
        loaded, _ = timed("journal: read our fills", lambda: internal_trades(ReconStore(store), window))
        assert len(loaded) == len(tables[0]), len(loaded)
        del loaded
        recon = Reconciler(store, symbols, rules, Tolerances(), timezone="America/New_York", output_dir=data / "out")
        outcome, _ = timed("full Reconciler.run (journal+statement+match+save)",
                           lambda: recon.run("bench", DAY, source))
        print(f"  {outcome.result.counts()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--journal", action="store_true", help="also the journal read and a full Reconciler.run")
    parser.add_argument("--data", type=Path, help="keep (and reuse) the statement and journal in this folder")
    parser.add_argument("--repeat", type=int, default=1, help="run the measured phases this many times")
    args = parser.parse_args()
    symbols = SymbolMaster.from_toml((ROOT / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    rules = SettlementRules(symbols, load_calendars(ROOT / "specs" / "recon" / "calendars"))
    print(f"reconciling {args.fills:,} fills (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    ours, _ = timed("generate ours", lambda: trades(args.fills))
    theirs, _ = timed("generate the broker's copy (+ breaks)", lambda: broken(ours))
    tables, _ = timed("both sides as column tables (not part of recon)",
                      lambda: (TradeTable.of(ours), TradeTable.of(theirs)))
    with nullcontext(str(args.data)) if args.data else tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        data.mkdir(parents=True, exist_ok=True)
        prepare(data, args.fills, ours, theirs, args.journal)
        for _ in range(args.repeat):
            measure(data, tables, symbols, rules, args.journal)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load average {os.getloadavg()[0]:.1f}; peak RSS {peak:,.0f} MB (the generated trades included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
