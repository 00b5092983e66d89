"""The margin service without sockets: fake venue snapshots, a real SQLite journal. States and alerts once per
change, drift pause once, the reduce-only check (long and short), daily interest rows, an unpriced venue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from fixgw.margin.service import LAST_STATE, MarginService
from fixgw.margin.settings import MarginConfig
from fixgw.model.enums import AssetClass, OrdType, Side
from fixgw.model.instruments import Instrument
from fixgw.model.margin import Balance, MarginMode, Pool, VenueAccount
from fixgw.model.margin_haircuts import AssetRule, KinkRate, MarginTable
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.model.orders import NewOrder
from fixgw.store.journal import Journal
from fixgw.store.margin import MarginStore

D = Decimal
TABLE = MarginTable({"USD": AssetRule("USD", cash=True, interest=KinkRate(D("0.05"), D("0"), D("0"), D("0.8"))),
                     "BTC": AssetRule("BTC", haircut=D("0.10"), maintenance=D("0.10"), initial=D("0.20"))})
BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=D("0.01"), lot_size=D("0.0001"))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
    journal.open()
    yield journal
    journal.close()


class Desk:
    """A fake PB: the book and reported figures the next pull returns, prices the lookup answers."""

    def __init__(self) -> None:
        self.btc = D(10)
        self.usd = D(-450_000)
        self.price = D(65_000)
        self.reported: dict[str, str] = {}
        self.now = datetime(2026, 12, 7, 12, tzinfo=UTC)

    async def fetch(self, now: datetime) -> AccountSnapshot:
        balances = (Balance("BTC", max(self.btc, D(0)), max(-self.btc, D(0))),
                    Balance("USD", max(self.usd, D(0)), max(-self.usd, D(0))))
        account = VenueAccount("pb", "USD", MarginMode.CROSS, (Pool("cross", balances),))
        return AccountSnapshot("pb", now, account, dict(self.reported),
                               "margin_equity" if self.reported else None)


def service(journal: Journal, desk: Desk, alerts: list[tuple[str, dict[str, str]]], paused: list[str]) -> MarginService:
    config = MarginConfig.model_validate({"enabled": True, "venues": {"pb": {}}})
    return MarginService(config, {}, journal, TABLE, prices=lambda asset, _ccy: desk.price if asset == "BTC" else None,
                         alert=lambda venue, message, detail: alerts.append((message, detail)),
                         pause=lambda venue, reason: paused.append(reason), clock=lambda: desk.now,
                         fetchers={"pb": desk.fetch})


def test_states_alert_once_per_change_and_are_journaled(journal: Journal) -> None:
    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    try:
        # ours: C = 9p, L = 450,000, M = p -> ratio 9 - 450,000 / p
        for price, expected in (("65000", "ok"), ("59000", "warn"), ("58900", "warn"), ("57500", "reduce_only"),
                                ("56000", "critical"), ("65000", "ok")):
            desk.price = D(price)
            assert margin.refresh()["venues"]["pb"]["state"] == expected
    finally:
        margin.stop()
    assert [(d["previous"], d["state"]) for _, d in alerts] == [
        ("ok", "warn"), ("warn", "reduce_only"), ("reduce_only", "critical"), ("critical", "ok")]
    assert [d["severity"] for _, d in alerts] == ["warning", "warning", "critical", "warning"]
    assert "margin ratio 1.1739" in alerts[1][0]
    rows = list(MarginStore(journal).rows())
    assert [(r.previous_state, r.state) for r in rows if r.kind == "state_change"] == [
        ("ok", "warn"), ("warn", "reduce_only"), ("reduce_only", "critical"), ("critical", "ok")]
    assert sum(r.kind == "snapshot" for r in rows) == 6
    [interest] = [r for r in rows if r.kind == "interest"]     # once a day: the first pull of the day
    assert interest.detail["accruals"][0]["source"] == "model" and interest.detail["accruals"][0]["asset"] == "USD"
    assert json.loads(journal.get_state(LAST_STATE) or "{}")["venues"]["pb"]["state"] == "ok"


def test_drift_against_the_pb_pauses_once(journal: Journal) -> None:
    desk, alerts, paused = Desk(), [], []
    desk.reported = {"margin_equity": "201000"}          # ours computed its way: 650,000 - 450,000 = 200,000
    margin = service(journal, desk, alerts, paused)
    try:
        assert margin.refresh()["venues"]["pb"]["drift_pct"] == "0.4975"   # under 0.5%: nothing
        desk.reported = {"margin_equity": "202000"}
        assert margin.refresh()["venues"]["pb"]["drift_pct"] == "0.9901"
        margin.refresh()
    finally:
        margin.stop()
    assert len(paused) == 1 and "margin drift 0.9901%" in paused[0]
    assert [d["severity"] for _, d in alerts] == ["critical"]
    assert [r.kind for r in MarginStore(journal).rows(kinds=["drift_pause"])] == ["drift_pause"]


def order(side: Side, qty: str) -> NewOrder:
    return NewOrder(cl_ord_id="o1", instrument_id="BTC/USD", side=side, order_qty=D(qty), ord_type=OrdType.LIMIT,
                    price=D(57_000), account="ACC1", transact_time=datetime.now(UTC))


@pytest.mark.parametrize(("btc", "side", "qty", "passes"), [
    ("10", Side.SELL, "1", True),       # reduces the long
    ("10", Side.SELL, "10", True),      # closes it
    ("10", Side.SELL, "11", False),     # would flip it short
    ("10", Side.BUY, "1", False),       # raises it
    ("-10", Side.BUY, "1", True),       # reduces the short
    ("-10", Side.SELL_SHORT, "1", False),
])
def test_reduce_only_lets_only_reducing_orders_through(journal: Journal, btc: str, side: Side, qty: str,
                                                       passes: bool) -> None:
    desk, alerts, paused = Desk(), [], []
    desk.btc = D(btc)
    desk.usd = D(-450_000) if desk.btc > 0 else D(715_000)
    desk.price = D(57_500) if desk.btc > 0 else D(64_000)   # a ratio in [1.1, 1.25) either way
    margin = service(journal, desk, alerts, paused)
    try:
        assert margin.refresh()["venues"]["pb"]["state"] == "reduce_only"
        denial = margin.check("ems-a", order(side, qty), BTC, "pb")
        assert (denial is None) is passes
        if denial is not None:
            assert "margin reduce_only at pb: margin ratio" in denial.text and "below 1.25" in denial.text
        assert margin.check("ems-a", order(Side.BUY, "1"), BTC, "elsewhere") is None
    finally:
        margin.stop()


def test_an_unpriced_asset_makes_the_venue_critical_with_the_exact_keys(journal: Journal) -> None:
    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    desk.price = None  # type: ignore[assignment]
    try:
        venue = margin.refresh()["venues"]["pb"]
    finally:
        margin.stop()
    assert venue["state"] == "critical" and venue["margin_ratio"] is None
    assert set(venue) == {"mode", "state", "collateral_value", "liabilities", "equity", "requirement_initial",
                          "requirement_maintenance", "margin_ratio", "excess", "liquidation_distance_pct",
                          "venue_reported", "drift_pct", "assets"}
    assert "no reference price for BTC" in alerts[0][0]


def test_interest_rows_once_per_utc_day(journal: Journal) -> None:
    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    try:
        margin.refresh()
        margin.refresh()
        desk.now += timedelta(days=1)
        margin.refresh()
    finally:
        margin.stop()
    days = [r.detail["day"] for r in MarginStore(journal).rows(kinds=["interest"])]
    assert days == ["2026-12-07", "2026-12-08"]


def test_cli_stress_revalues_the_journaled_books(journal: Journal, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from fixgw.cli import main

    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    try:
        margin.refresh()
    finally:
        margin.stop()
    config = tmp_path / "gw.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')   # the shipped haircut table: BTC 10% until it has history
    capsys.readouterr()
    assert main(["margin", "stress", "--config", str(config), "--shock", "-20%", "--shock", "BTC:+10%,vol:x2",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    down, up = result["shocks"]
    # -20%: p = 52,000: ratio 9 - 450,000 / 52,000 = 0.3462; +10% with haircuts doubled: 8 - 450,000 / 71,500
    assert down["venues"]["pb"] == {"margin_ratio": "0.3462", "excess": "-34000", "state": "critical"}
    assert up["venues"]["pb"]["margin_ratio"] == "1.7063" and up["venues"]["pb"]["state"] == "ok"
    assert result["delta"] == [{"asset": "BTC", "quantity": "10", "notional": "650000"}]
    assert main(["margin", "status", "--config", str(config), "--venue", "nope"]) == 1


def test_audit_exports_the_margin_journal(journal: Journal, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from fixgw.cli import main

    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    try:
        margin.refresh()
        desk.price = D(59_000)
        margin.refresh()
    finally:
        margin.stop()
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    capsys.readouterr()
    assert main(["audit", "margin", "--from", "2026-12-07", "--to", "2026-12-07", "--journal", url,
                 "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in rows] == ["snapshot", "interest", "snapshot", "state_change"]
    assert rows[3]["previous_state"] == "ok" and rows[3]["state"] == "warn"
    assert rows[2]["detail"]["margin_ratio"] == "1.3729"
    assert main(["audit", "margin", "--from", "2026-12-07", "--to", "2026-12-07", "--journal", url]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("at,venue,kind,state")


def test_a_volatility_scaled_haircut_follows_the_snapshot_prices(journal: Journal) -> None:
    from fixgw.model.margin_haircuts import realized_vol_daily

    rule = AssetRule("BTC", haircut=D("0.10"), vol_k=D(3), vol_floor=D("0.05"), vol_cap=D("0.5"),
                     horizon_days=D(2), maintenance=D("0.10"))
    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    margin.table = MarginTable({**TABLE.assets, "BTC": rule})
    haircuts = []
    try:
        for price in ("65000", "65100", "64900", "65000"):
            desk.price = D(price)
            lines = {line["asset"]: line for line in margin.refresh()["venues"]["pb"]["assets"]}
            haircuts.append(lines["BTC"]["haircut"])
    finally:
        margin.stop()
    sigma = realized_vol_daily([D(65_000), D(65_100), D(64_900), D(65_000)], timedelta(seconds=60))
    assert sigma is not None
    assert haircuts[:2] == ["0.1", "0.1"]                      # fewer than three prices: the fixed fallback
    assert haircuts[3] == str(rule.haircut_for(sigma).quantize(D("0.0001")).normalize())
    assert haircuts[2] != "0.1"


def test_cli_status_shows_each_venues_interest(journal: Journal, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from fixgw.cli import main

    desk, alerts, paused = Desk(), [], []
    margin = service(journal, desk, alerts, paused)
    try:
        margin.refresh()
    finally:
        margin.stop()
    config = tmp_path / "gw.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')
    capsys.readouterr()
    assert main(["margin", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    # USD 450,000 borrowed at the kink model's 5% (U measured against no line: base rate only)
    assert "pb [cross] OK: ratio 2.0769" in out
    assert "interest 2026-12-07: USD 450000 borrowed at 5.00% (model) -> 61.6438356164" in out


def test_the_recon_drift_check_also_breaches_on_the_margin_drift(journal: Journal) -> None:
    from fixgw.model.instruments import SymbolMaster
    from fixgw.recon.drift import DriftCheck
    from fixgw.recon.rest_source import Balances
    from fixgw.store.journal import JournalBatch

    repo = Path(__file__).resolve().parents[2]
    symbols = SymbolMaster.from_toml((repo / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    check = DriftCheck(journal, symbols, D("0.5"), pause=False)
    balances = Balances({"USD": D(1000)}, {}, datetime(2026, 12, 7, tzinfo=UTC))
    assert check.check("pb", balances) is None               # the baseline
    reading = check.check("pb", balances)
    assert reading is not None and not reading.breached      # holdings agree, no margin figures yet
    journal.write(JournalBatch(state={LAST_STATE: json.dumps({"venues": {"pb": {"drift_pct": "0.9901"}}})}))
    reading = check.check("pb", balances)
    assert reading is not None and reading.breached and "margin figure 0.9901%" in reading.describe()
