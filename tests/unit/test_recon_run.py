"""A reconciliation run on a real journal (SQLite and PostgreSQL) against statement files: a clean day, a
statement with every kind of break, XML statements, busted fills, persistence, reports, state and alert."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fixgw.model.enums import OrdType, Side
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import Fill
from fixgw.model.state import Order, OrderEvent, apply, remove_fill
from fixgw.recon.records import BreakKind, Tolerances
from fixgw.recon.run import Reconciler
from fixgw.recon.settlement import SettlementRules, load_calendars
from fixgw.recon.sources import SourceError
from fixgw.recon.statement import StatementSource, find_mapping, load_mapping
from fixgw.store import EventRecord, Journal, JournalBatch
from fixgw.store.recon import ReconStore

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs" / "recon"
DAY = date(2026, 11, 20)                                  # a Friday: AAPL settles Monday 23rd
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)            # 10:00 New York
HEADER = "record_type,trade_id,order_id,account,instrument,side,qty,price,time,commission,currency,amount,opening"
SYMBOLS = SymbolMaster.from_toml((REPO / "specs" / "symbols.toml").read_text(encoding="utf-8"))


def journal_fills(journal: Journal, fills: list[tuple[str, str, Side, str, str]], venue: str = "equities",
                  *, bust: str | None = None) -> None:
    """(exec id, instrument, side, qty, price), one order each, at T0 + n seconds."""
    batch = JournalBatch()
    for n, (exec_id, instrument, side, qty, price) in enumerate(fills):
        at = T0 + timedelta(seconds=n)
        order = Order(order_id=f"ORD-{exec_id}", ems_session="EMS1", cl_ord_id=f"C-{exec_id}", account="ACC1",
                      instrument_id=instrument, side=side, ord_type=OrdType.LIMIT, order_qty=qty, price=price,
                      venue=venue, venue_cl_ord_id=f"R-{exec_id}", venue_order_id=f"V-{exec_id}", created_at=at,
                      updated_at=at)
        apply(order, OrderEvent.ACK, at=at)
        fill = Fill(exec_id=exec_id, venue=venue, qty=qty, price=price, time=at)
        apply(order, OrderEvent.FILL, fill=fill, at=at)
        if exec_id == bust:
            remove_fill(order, exec_id, at=at)
            batch.events.append(EventRecord(order.order_id, "trade_cancel", order.status.value, at,
                                            {"exec_ref_id": exec_id}))
        batch.orders[order.order_id] = order
        batch.fills.append((order.order_id, fill))
    journal.write(batch)


def statement(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def trade_row(exec_id: str, instrument: str, side: str, qty: str, price: str, seconds: int = 0) -> str:
    at = (T0 + timedelta(seconds=seconds)).isoformat()
    return f"trade,{exec_id},V-{exec_id},ACC1,{instrument},{side},{qty},{price},{at},,,,"


def reconciler(journal: Journal, out: Path | None = None, **tolerances: object) -> Reconciler:
    rules = SettlementRules(SYMBOLS, load_calendars(SPECS / "calendars"))
    return Reconciler(journal, SYMBOLS, rules, Tolerances(**tolerances),  # type: ignore[arg-type]
                      timezone="America/New_York", output_dir=out)


def default_source(path: Path) -> StatementSource:
    return StatementSource(path, load_mapping(SPECS / "default.toml"), SYMBOLS)


OUR_DAY = [("E1", "AAPL", Side.BUY, "100", "190.25"), ("E2", "AAPL", Side.SELL, "40", "191.5"),
           ("E3", "SPY", Side.BUY, "10", "590.10"), ("E4", "SPY", Side.SELL, "3", "590.20")]


def test_a_clean_day(journal: Journal, tmp_path: Path) -> None:
    journal_fills(journal, OUR_DAY)
    path = statement(tmp_path / "equities.csv", [
        trade_row("E1", "AAPL", "buy", "100", "190.25"), trade_row("E2", "AAPL", "sell", "40", "191.50", 1),
        trade_row("E3", "SPY", "buy", "10", "590.1", 2), trade_row("E4", "SPY", "S", "3", "590.20", 3),
        "position,,,,AAPL,,60,,,,,,0", "position,,,,SPY,,7,,,,,,0",
        "cash,,,,,,,,,,USD,-19025,0", "cash,,,,,,,,,,USD,7660,0",     # two rows of one currency add up
        "cash,,,,,,,,,,USD,-5901,0", "cash,,,,,,,,,,USD,1770.6,0"])
    with capture_logs() as logs:
        outcome = reconciler(journal, tmp_path / "out").run("equities", DAY, default_source(path))
    assert outcome.clean and outcome.result.matched == 4, [b.detail for b in outcome.breaks]
    assert outcome.trades_by_settle_date == {"2026-11-23": (4, 4)}
    assert outcome.day_status == "clean" and journal.get_state("recon:2026-11-20") == "clean"
    assert journal.get_state("recon:2026-11-20:equities") == "clean"
    assert not [log for log in logs if log["event"] == "alert"]
    [run] = ReconStore(journal).runs(recon_date="2026-11-20")
    assert run.result == "clean" and run.counts["matched"] == 4 and ReconStore(journal).breaks(run.run_id) == []
    csv_path, json_path = outcome.reports
    assert list(csv.DictReader(csv_path.open())) == []
    assert json.loads(json_path.read_text())["result"] == "clean"


def test_a_statement_with_every_kind_of_break(journal: Journal, tmp_path: Path) -> None:
    journal_fills(journal, [*OUR_DAY, ("E5", "AAPL", Side.BUY, "5", "190"), ("E6", "BTC/USD", Side.BUY, "1", "60000")])
    path = statement(tmp_path / "equities.csv", [
        trade_row("E1", "AAPL", "buy", "100", "190.25"),
        trade_row("E2", "AAPL", "sell", "40", "191.52", 1),           # price mismatch (2 ticks)
        trade_row("E3", "SPY", "buy", "11", "590.10", 2),              # quantity mismatch
        trade_row("E4", "SPY", "sell", "3", "590.20", 3),
        trade_row("E4", "SPY", "sell", "3", "590.20", 3),              # duplicate
        trade_row("B-9", "MSFT", "buy", "7", "410", 60),               # missing internally
        trade_row("E6", "BTC/USD", "buy", "1", "60000", 5),            # E5 is missing at the broker
        "position,,,,AAPL,,65,,,,,,0",                                  # ours 65 (E5 included)
        "position,,,,SPY,,8,,,,,,0",                                    # ours 7: position mismatch
        "position,,,,MSFT,,7,,,,,,0",                                   # none here
        "position,,,,BTC/USD,,1,,,,,,0",
    ])
    with capture_logs() as logs:
        outcome = reconciler(journal, tmp_path / "out").run("equities", DAY, default_source(path))
    found = sorted((b.category.value, b.kind.value, b.ref) for b in outcome.breaks)
    assert found == [("position", "missing_internally", "MSFT"), ("position", "quantity_mismatch", "SPY"),
                     ("trade", "duplicate", "E4"), ("trade", "missing_at_broker", "E5"),
                     ("trade", "missing_internally", "B-9"), ("trade", "price_mismatch", "E2"),
                     ("trade", "quantity_mismatch", "E3")]
    assert journal.get_state("recon:2026-11-20") == "breaks"
    [alert] = [log for log in logs if log["event"] == "alert"]
    assert alert["kind"] == "recon_breaks" and alert["breaks"] == 7 and alert["venue"] == "equities"
    # Persisted with their evidence.
    store = ReconStore(journal)
    [run] = store.runs(recon_date="2026-11-20", venue="equities")
    persisted = {(b.kind, b.ref): b for b in store.breaks(run.run_id)}
    price = persisted[("price_mismatch", "E2")]
    assert price.evidence["ours"]["price"] == "191.5" and price.evidence["theirs"]["price"] == "191.52"
    assert price.evidence["theirs"]["source"] == "equities.csv:3"
    assert "journal fills#" in price.evidence["ours"]["source"]
    assert price.settle_date == "2026-11-23"
    assert store.open_breaks("equities") == 7
    # Settlement grouping: BTC settles T+0, equities T+1; positions have no settlement date.
    assert outcome.trades_by_settle_date == {"2026-11-20": (1, 1), "2026-11-23": (5, 6)}
    document = json.loads(outcome.reports[1].read_text())
    assert set(document["by_settlement_date"]) == {"2026-11-20", "2026-11-23", "positions/cash"}
    assert len(document["by_settlement_date"]["positions/cash"]["breaks"]) == 2
    rows = list(csv.DictReader(outcome.reports[0].open()))
    assert len(rows) == 7 and {row["kind"] for row in rows} == {kind.value for kind in BreakKind}


def test_a_later_clean_run_clears_the_day_only_when_every_venue_is_clean(journal: Journal, tmp_path: Path) -> None:
    journal_fills(journal, [("E1", "AAPL", Side.BUY, "100", "190.25")])
    journal_fills(journal, [("C1", "BTC/USD", Side.BUY, "1", "60000")], venue="crypto")
    good = statement(tmp_path / "eq.csv", [trade_row("E1", "AAPL", "buy", "100", "190.25")])
    bad = statement(tmp_path / "eq-bad.csv", [])
    crypto = statement(tmp_path / "crypto.csv", [trade_row("C1", "BTC/USD", "buy", "1", "60000")])
    recon = reconciler(journal)
    assert recon.run("equities", DAY, default_source(bad)).day_status == "breaks"
    assert recon.run("crypto", DAY, default_source(crypto)).day_status == "breaks"   # equities still broken
    assert recon.run("equities", DAY, default_source(good)).day_status == "clean"
    assert journal.get_state("recon:2026-11-20") == "clean"


def test_busted_fills_and_other_days_and_venues_are_left_out(journal: Journal, tmp_path: Path) -> None:
    journal_fills(journal, [("E1", "AAPL", Side.BUY, "100", "190.25"), ("E2", "AAPL", Side.BUY, "5", "190")],
                  bust="E2")
    journal_fills(journal, [("X1", "AAPL", Side.BUY, "1", "1")], venue="other")
    path = statement(tmp_path / "eq.csv", [trade_row("E1", "AAPL", "buy", "100", "190.25")])
    outcome = reconciler(journal).run("equities", DAY, default_source(path))
    assert outcome.clean and outcome.result.ours == 1
    assert reconciler(journal).run("equities", DAY + timedelta(days=1), default_source(path)).result.ours == 0


def test_an_xml_statement_with_the_brokers_symbols_sides_and_local_times(journal: Journal, tmp_path: Path) -> None:
    journal_fills(journal, [("T-1", "AAPL", Side.BUY, "100", "190.25"), ("T-2", "BRK.B", Side.SELL, "5", "470")])
    path = tmp_path / "pb.xml"
    path.write_text("""<?xml version="1.0"?>
<Statement date="2026-11-20">
  <Trade id="T-1" orderId="V-T-1" account="ACC1" symbol="AAPL US" side="B" qty="100" price="190.25"
         time="2026-11-20T10:00:00"/>
  <Trade><id>T-2</id><symbol>BRK/B US</symbol><side>S</side><qty>5</qty><price>470.00</price>
         <time>2026-11-20T10:00:01</time></Trade>
  <Position symbol="AAPL US" qty="100" opening="0"/>
  <Position symbol="BRK/B US" qty="-5" opening="0"/>
  <Cash currency="usd" amount="4700.25" opening="21375.25"/>
</Statement>
""", encoding="utf-8")
    source = StatementSource(path, load_mapping(SPECS / "prime-broker-xml.toml"), SYMBOLS)
    outcome = reconciler(journal).run("equities", DAY, source)
    assert outcome.clean, [b.detail for b in outcome.breaks]
    assert outcome.result.matched == 2


def test_bad_statements_stop_the_run_with_file_and_line(journal: Journal, tmp_path: Path) -> None:
    recon = reconciler(journal)
    bad_price = statement(tmp_path / "a.csv", [trade_row("E1", "AAPL", "buy", "100", "12.3.4")])
    with pytest.raises(SourceError, match=r"a.csv:2: price"):
        recon.run("equities", DAY, default_source(bad_price))
    bad_side = statement(tmp_path / "b.csv", [trade_row("E1", "AAPL", "sideways", "100", "1")])
    with pytest.raises(SourceError, match=r"b.csv:2: unknown side"):
        recon.run("equities", DAY, default_source(bad_side))
    with pytest.raises(SourceError, match="cannot read statement"):
        recon.run("equities", DAY, default_source(tmp_path / "missing.csv"))
    assert ReconStore(journal).runs() == [] and journal.get_state("recon:2026-11-20") is None


def test_mappings_are_found_by_name_then_venue_then_default(tmp_path: Path) -> None:
    assert find_mapping(SPECS, "equities").name == "default"
    assert find_mapping(SPECS, "fix-broker-sim").name == "fix-broker-sim"
    assert find_mapping(SPECS, "x", "prime-broker-xml").format == "xml"
    (tmp_path / "broken.toml").write_text('format = "pdf"\n')
    with pytest.raises(SourceError, match=r"broken\.toml"):
        find_mapping(tmp_path, "broken")
    assert Decimal  # exact decimals only: parsed from text, never floats
