"""The day book a restart reads (store/daybook.py): open orders whole, the day's closed orders as ClOrdIDs and
grouped fills; the risk exposure restored from it equals the one restored from every order whole, also after a
remembered order is read back and busted; the operators' counts and blotter come from the same day book."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.orders import Fill, utc_day_start
from fixgw.model.state import Order, OrderEvent, amend, apply, remove_fill
from fixgw.risk.checks import RiskChecks
from fixgw.risk.settings import RiskConfig
from fixgw.router.book import OrderBook
from fixgw.store import EventRecord, Journal, JournalBatch
from fixgw.store.coltypes import to_micros
from fixgw.store.database import make_engine, upgrade
from fixgw.store.daybook import _cl_ord_ids, find_orders, read_day_book, status_counts

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
DAY = utc_day_start(NOW)
YESTERDAY = DAY - timedelta(hours=6)
TODAY = DAY + timedelta(hours=9)


def an_order(order_id: str, *, account: str = "ACC1", side: Side = Side.BUY, qty: str = "10",
             instrument: str = "BTC/USD", session: str = "EMS1", at: datetime = TODAY,
             venue: str | None = "CPB") -> Order:
    return Order(order_id=order_id, ems_session=session, cl_ord_id=f"C-{order_id}", cl_ord_id_chain=[f"C-{order_id}"],
                 account=account, instrument_id=instrument, side=side, ord_type=OrdType.LIMIT,
                 order_qty=Decimal(qty), price=Decimal("64000.5"), venue=venue,
                 venue_cl_ord_id=f"R-{order_id}" if venue else None, created_at=at, updated_at=at)


def fill(order: Order, exec_id: str, qty: str, price: str, at: datetime) -> Fill:
    done = Fill(exec_id=exec_id, venue="CPB", qty=Decimal(qty), price=Decimal(price), time=at)
    if order.status is OrdStatus.PENDING_NEW:
        apply(order, OrderEvent.ACK, at=at)
    apply(order, OrderEvent.FILL, fill=done, at=at)
    return done


class Day:
    """A journal holding one trading day and the day before, and every order as it stands."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.orders: dict[str, Order] = {}
        self.fills: list[tuple[str, Fill]] = []
        self.events: list[EventRecord] = []

    def add(self, order: Order, *fills: tuple[str, str, str, datetime]) -> Order:
        for exec_id, qty, price, at in fills:
            self.fills.append((order.order_id, fill(order, exec_id, qty, price, at)))
        self.orders[order.order_id] = order
        return order

    def write(self) -> None:
        self.journal.write(JournalBatch(orders=dict(self.orders), fills=list(self.fills), events=list(self.events)))


def build_day(journal: Journal) -> Day:
    day = Day(journal)
    day.add(an_order("OPEN"), ("X-OPEN", "4", "64000.5", TODAY))                    # partially filled: open
    day.add(an_order("F1"), ("X-F1a", "6", "64001.25", TODAY), ("X-F1b", "4", "64001.25", TODAY))
    day.add(an_order("F2", account="ACC2", side=Side.SELL, qty="0.0000000003"),
            ("X-F2", "0.0000000003", "0.1234567891", TODAY + timedelta(minutes=5)))
    replaced = an_order("F3", side=Side.SELL_SHORT, instrument="ETH/USD", qty="8")
    apply(replaced, OrderEvent.ACK, at=TODAY)
    apply(replaced, OrderEvent.REPLACE_REQUESTED, at=TODAY)
    amend(replaced, cl_ord_id="C-F3-R1", order_qty=Decimal("10"), price=Decimal("3000"))
    day.add(replaced, ("X-F3", "10", "3000", TODAY))
    multi = day.add(an_order("MULTI", at=YESTERDAY), ("X-M1", "3", "63000", YESTERDAY), ("X-M2", "7", "65000", TODAY))
    assert multi.status is OrdStatus.FILLED
    day.add(an_order("OLD", at=YESTERDAY - timedelta(days=1)), ("X-OLD", "10", "50000", YESTERDAY))
    busted = day.add(an_order("BUSTED", account="ACC2"), ("X-B1", "5", "64010", TODAY), ("X-B2", "5", "64020", TODAY))
    remove_fill(busted, "X-B1", at=TODAY + timedelta(minutes=1))
    apply(busted, OrderEvent.CANCELED, at=TODAY + timedelta(minutes=2))
    day.events.append(EventRecord("BUSTED", "trade_cancel", busted.status.value, TODAY, {"exec_ref_id": "X-B1"}))
    denied = an_order("DENIED", venue=None, session="EMS2")
    apply(denied, OrderEvent.DENY, at=TODAY)
    day.add(denied)
    day.write()
    return day


def restored(orders: list[Order], closed_fills: list = ()) -> RiskChecks:  # type: ignore[assignment,type-arg]
    engine = RiskChecks(RiskConfig.model_validate({}), clock=lambda: NOW)
    engine.restore(orders, (), closed_fills)
    return engine


def assert_same_exposure(a: RiskChecks, b: RiskChecks) -> None:
    for account in ("ACC1", "ACC2"):
        assert a.exposure.account(account) == b.exposure.account(account), account
        for instrument in ("BTC/USD", "ETH/USD"):
            assert a.exposure.position(account, instrument) == b.exposure.position(account, instrument)
    for instrument in ("BTC/USD", "ETH/USD"):
        assert a.exposure.price(instrument) == b.exposure.price(instrument), instrument


def test_the_day_book_holds_open_and_voided_orders_whole_and_the_rest_as_ids(journal: Journal) -> None:
    build_day(journal)
    day = read_day_book(journal, DAY)
    assert sorted(order.order_id for order in day.orders) == ["BUSTED", "OPEN"]
    keys = day.closed_keys
    assert keys == {("EMS1", "C-F1"): "F1", ("EMS1", "C-F2"): "F2", ("EMS1", "C-F3"): "F3",
                    ("EMS1", "C-F3-R1"): "F3", ("EMS1", "C-MULTI"): "MULTI", ("EMS2", "C-DENIED"): "DENIED",
                    ("EMS1", "C-BUSTED"): "BUSTED"}     # also held whole: the book keeps the loaded order
    groups = {(g.account, g.side, g.qty, g.price, g.since_day_start): (g.count, g.last_at) for g in day.closed_fills}
    assert groups[("ACC1", Side.BUY, Decimal("3"), Decimal("63000"), False)] == (1, YESTERDAY)  # prices only
    assert groups[("ACC1", Side.BUY, Decimal("7"), Decimal("65000"), True)] == (1, TODAY)
    assert groups[("ACC2", Side.SELL, Decimal("0.0000000003"), Decimal("0.1234567891"), True)][0] == 1
    assert sum(count for count, _ in groups.values()) == 6     # F1 x2, F2, F3, MULTI x2; not OLD, OPEN, BUSTED


def test_exposure_restored_from_the_day_book_equals_the_one_from_every_order(journal: Journal) -> None:
    """Before and after a remembered order is read back (OrderBook.on_recall -> adopt) and then busted."""
    built = build_day(journal)
    whole = {o.order_id: o for o in journal.load_orders(open_only=True, or_updated_since=DAY)}
    assert "F3" in whole and "OLD" not in whole
    full = restored(list(whole.values()))
    day = read_day_book(journal, DAY)
    light = restored(day.orders, day.closed_fills)
    assert_same_exposure(full, light)
    assert full.exposure.account("ACC1").filled_notional > 0

    book = OrderBook(loader=journal.find_order)
    book.load(day.orders)
    book.remember(day.closed_keys)
    recalled: list[str] = []
    book.on_recall = lambda order: (recalled.append(order.order_id), light.adopt(order))  # type: ignore[func-returns-value]
    assert book.has_ems_cl_ord_id("EMS1", "C-F3") and book.has_ems_cl_ord_id("EMS2", "C-DENIED")
    assert not book.has_ems_cl_ord_id("EMS1", "C-OLD")                 # another day: may be used again
    assert book.find_ems("EMS1", "C-NOPE") is None and recalled == []
    f3 = book.find_ems("EMS1", "C-F3-R1")                                # a remembered id reads the order
    assert f3 is not None and f3.order_id == "F3" and recalled == ["F3"]
    assert book.find_ems("EMS1", "C-F3") is f3 and recalled == ["F3"]  # read once, held from then on
    assert_same_exposure(full, light)

    for engine, order in ((full, whole["F3"]), (light, f3)):
        remove_fill(order, "X-F3", at=NOW)
        engine.exposure.update(order, None)
    assert_same_exposure(full, light)
    assert light.exposure.position("ACC1", "ETH/USD").net_filled_qty == 0
    assert built.orders["F1"].cum_qty == Decimal("10")


def test_counts_and_blotter_read_the_day_book_of_record(journal: Journal) -> None:
    build_day(journal)
    by_status, open_orders = status_counts(journal, DAY)
    assert open_orders == 1
    assert by_status == {OrdStatus.PARTIALLY_FILLED.value: 1, OrdStatus.FILLED.value: 4,
                         OrdStatus.CANCELED.value: 1, OrdStatus.DENIED.value: 1}

    def ids(**filters: object) -> list[str]:
        return [o.order_id for o in find_orders(journal, DAY, limit=filters.pop("limit", 50), **filters)]  # type: ignore[arg-type]

    assert ids(open_only=True) == ["OPEN"]
    assert set(ids(status=OrdStatus.FILLED.value)) == {"F1", "F2", "F3", "MULTI"}
    assert set(ids(account="ACC2")) == {"BUSTED", "F2"}
    assert ids(cl_ord_id="C-F3") == ["F3"] and ids(cl_ord_id="C-F3-R1") == ["F3"]
    assert ids(ems_session="EMS2") == ["DENIED"] and ids(venue="NOPE") == []
    assert ids(instrument_id="ETH/USD") == ["F3"]
    assert ids(limit=1) == [ids()[0]] and ids()[-1] == "MULTI"   # newest first: MULTI was created yesterday
    assert "OLD" not in ids()


def test_migration_0003_fills_side_and_clordids_of_existing_rows_and_older_writers_rows_are_read_whole(
        journal_url: str) -> None:
    """Rows journaled before 0003 get their side and ClOrdIDs from the snapshot; a row written afterwards without
    them (an older fixgw sharing the journal) is read whole, and nothing of it is lost to the day book."""
    engine = make_engine(journal_url)
    try:
        upgrade(engine, "0002")
        order = an_order("PRE", side=Side.SELL)
        fill(order, "X-PRE", "10", "64000.5", TODAY)
        order.cl_ord_id_chain.append("C-PRE-X")
        columns = ("order_id", "ems_session", "cl_ord_id", "venue", "account", "instrument_id", "status", "is_open",
                   "created_at", "updated_at", "snapshot")
        insert = text(f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
        with engine.begin() as connection:
            connection.execute(insert, {
                "order_id": "PRE", "ems_session": "EMS1", "cl_ord_id": "C-PRE", "venue": "CPB", "account": "ACC1",
                "instrument_id": "BTC/USD", "status": order.status.value, "is_open": False,
                "created_at": to_micros(TODAY), "updated_at": to_micros(TODAY), "snapshot": order.model_dump_json()})
            connection.execute(text("INSERT INTO fills (order_id, venue, exec_id, qty, price, at) "
                                    "VALUES ('PRE', 'CPB', 'X-PRE', '10', '64000.5', :at)"), {"at": to_micros(TODAY)})
        upgrade(engine)
        with engine.connect() as connection:
            side, ids = connection.execute(text("SELECT side, cl_ord_ids FROM orders")).one()
        assert side == Side.SELL.value and json.loads(ids) == ["C-PRE", "C-PRE-X"]
        with engine.begin() as connection:   # an older writer, after the migration
            older = an_order("OLDER")
            apply(older, OrderEvent.DENY, at=TODAY)
            connection.execute(insert, {
                "order_id": "OLDER", "ems_session": "EMS1", "cl_ord_id": "C-OLDER", "venue": None,
                "account": "ACC1", "instrument_id": "BTC/USD", "status": older.status.value, "is_open": False,
                "created_at": to_micros(TODAY), "updated_at": to_micros(TODAY), "snapshot": older.model_dump_json()})
    finally:
        engine.dispose()
    with Journal(journal_url) as journal:
        day = read_day_book(journal, DAY)
    assert [o.order_id for o in day.orders] == ["OLDER"]
    assert set(day.closed_keys) == {("EMS1", "C-PRE"), ("EMS1", "C-PRE-X")}
    (group,) = day.closed_fills
    assert (group.side, group.qty, group.count) == (Side.SELL, Decimal("10"), 1)


@pytest.mark.parametrize("ids", [["C1"], [], ["C1", "C2"], ['q"uote'], ["back\\slash"], ["ünï"], [""], ["a,b"],
                                 ['"]', '["']])
def test_cl_ord_ids_read_back_as_json_wrote_them(ids: list[str]) -> None:
    assert list(_cl_ord_ids(json.dumps(ids))) == ids


CHAINS = [["C1"], ["C1", "C2"], ['q"uote'], ["back\\slash"], ["ünï"], ["a,b"], ['"]', '["'], ["%_"], ["x'y"]]


def test_every_clordid_of_a_closed_order_is_remembered_as_written(journal: Journal) -> None:
    """read_day_book unwraps one-id lists inline and sends the rest through _cl_ord_ids: both give the ids back."""
    day = Day(journal)
    for number, chain in enumerate(CHAINS):
        order = an_order(f"K{number}")
        order.cl_ord_id_chain, order.cl_ord_id = list(chain), chain[-1]
        day.add(order, (f"X-K{number}", "10", "64000.5", TODAY))
    day.write()
    keys = read_day_book(journal, DAY).closed_keys
    assert keys == {("EMS1", cl_ord_id): f"K{number}" for number, chain in enumerate(CHAINS) for cl_ord_id in chain}
