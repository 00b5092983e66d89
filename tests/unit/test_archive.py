"""The archive over the journal (SQLite and PostgreSQL): filters by time, account, instrument, venue, order id,
ClOrdID and session; events with their order's terms; the day purge and the retention plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fixgw.dropcopy.retention import plan_purge, recon_state_key, recon_verdicts
from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.state import Order
from fixgw.store import EventRecord, Journal, JournalBatch, MessageRecord
from fixgw.store.archive import Archive, ArchiveQuery

DAY1 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)


def order(n: int, *, account: str, instrument: str, venue: str, at: datetime, status: OrdStatus = OrdStatus.FILLED,
          **extra: Any) -> Order:
    return Order(order_id=f"O{n}", ems_session="ems-a", cl_ord_id=f"C{n}", cl_ord_id_chain=[f"C{n}"],
                 account=account, instrument_id=instrument, side=Side.SELL, ord_type=OrdType.LIMIT, order_qty="100",
                 price="10.5", venue=venue, venue_cl_ord_id=f"O{n}.0", venue_cl_ord_ids=[f"O{n}.0"], status=status,
                 created_at=at, updated_at=at, **extra)


def msg(session: str, direction: str, at: datetime, order_id: str | None, cl_ord_id: str | None,
        msg_type: str = "8") -> MessageRecord:
    return MessageRecord(session=session, direction=direction, msg_type=msg_type,
                         raw=f"35={msg_type}\x0111={cl_ord_id}\x01", at=at, order_id=order_id, cl_ord_id=cl_ord_id)


@pytest.fixture
def archive(journal: Journal) -> Archive:
    orders = {
        "O1": order(1, account="ACC1", instrument="AAPL", venue="equities", at=DAY1),
        "O2": order(2, account="ACC2", instrument="BTC/USD", venue="crypto", at=DAY2),
        "O3": order(3, account="ACC1", instrument="BTC/USD", venue="crypto", at=DAY1, status=OrdStatus.NEW),
    }
    s = timedelta(seconds=1)
    messages = [
        msg("ems-a", "in", DAY1, "O1", "C1", "D"), msg("equities", "out", DAY1 + s, "O1", "O1.0", "D"),
        msg("equities", "in", DAY1 + 2 * s, "O1", "O1.0"), msg("ems-a", "out", DAY1 + 3 * s, "O1", "C1"),
        msg("dropcopy", "out", DAY1 + 3 * s, "O1", "C1"), msg("ems-a", "in", DAY1 + 4 * s, "O3", "C3", "D"),
        msg("ems-a", "in", DAY2, "O2", "C2", "D"), msg("ems-a", "out", DAY2 + s, None, "BAD"),
        msg("equities", "in", DAY2 + 2 * s, None, "ZZZ"),
    ]
    events = [EventRecord("O1", "new", "A", DAY1, {"cl_ord_id": "C1", "qty": "100.00", "price": "10.5"}),
              EventRecord("O1", "fill", "2", DAY1 + 2 * s, {"exec_id": "X1", "qty": "100", "price": "10.4"}),
              EventRecord("O3", "new", "A", DAY1 + 4 * s, {"cl_ord_id": "C3"}),
              EventRecord("O2", "new", "A", DAY2, {"cl_ord_id": "C2"})]
    journal.write(JournalBatch(orders=orders, messages=messages, events=events))
    return Archive(journal)


def ids(archive: Archive, **query: Any) -> list[tuple[str, str | None]]:
    return [(m.session, m.cl_ord_id) for m in archive.messages(ArchiveQuery(**query))]


def test_messages_by_time_account_instrument_venue_order_and_session(archive: Archive) -> None:
    everything = list(archive.messages(ArchiveQuery()))
    assert len(everything) == 9 and archive.count_messages(ArchiveQuery()) == 9
    assert [m.at for m in everything] == sorted(m.at for m in everything)
    assert ids(archive, since=DAY2) == [("ems-a", "C2"), ("ems-a", "BAD"), ("equities", "ZZZ")]
    assert ids(archive, until=DAY1 + timedelta(seconds=2)) == [("ems-a", "C1"), ("equities", "O1.0")]
    assert {cl for _, cl in ids(archive, accounts=("ACC1",))} == {"C1", "O1.0", "C3"}
    assert ids(archive, instruments=("BTC/USD",), since=DAY2) == [("ems-a", "C2")]
    # Venue: through the order; a message matched to no order counts for its own session.
    assert ids(archive, venues=("equities",), since=DAY2) == [("equities", "ZZZ")]
    assert len(ids(archive, venues=("crypto",))) == 2
    assert len(ids(archive, order_ids=("O1",))) == 5
    assert ids(archive, sessions=("dropcopy",)) == [("dropcopy", "C1")]
    first = everything[0]
    assert (first.account, first.instrument_id, first.venue, first.order_id) == ("ACC1", "AAPL", "equities", "O1")
    assert archive.count_messages(ArchiveQuery(accounts=("ACC1",), venues=("crypto",))) == 1


def test_a_clordid_finds_every_message_of_its_order(archive: Archive) -> None:
    assert len(ids(archive, cl_ord_ids=("C1",))) == 5               # EMS ClOrdID -> the whole order
    assert len(ids(archive, cl_ord_ids=("O1.0",))) == 5             # our outbound id at the venue, too
    assert ids(archive, cl_ord_ids=("BAD",)) == [("ems-a", "BAD")]  # a refusal that belongs to no order


def test_events_carry_the_order_terms_and_ids(archive: Archive) -> None:
    events = list(archive.events(ArchiveQuery(order_ids=("O1",))))
    assert [e.event for e in events] == ["new", "fill"]
    new = events[0]
    assert (new.side, new.order_qty, new.price, new.parent_cl_ord_id, new.venue_cl_ord_id) == (
        "2", "100", "10.5", "C1", "O1.0")
    assert new.detail == {"cl_ord_id": "C1", "qty": "100.00", "price": "10.5"}
    assert archive.count_events(ArchiveQuery(accounts=("ACC1",))) == 3
    assert [e.order_id for e in archive.events(ArchiveQuery(venues=("crypto",)))] == ["O3", "O2"]
    assert [e.order_id for e in archive.events(ArchiveQuery(cl_ord_ids=("C2",)))] == ["O2"]


def test_purge_day_deletes_that_day_and_closed_orders_left_empty(archive: Archive, journal: Journal) -> None:
    assert archive.first_day() == DAY1.date()
    assert archive.day_counts(DAY1.date()) == {"messages": 6, "events": 3, "fills": 0}
    done = archive.purge_day(DAY1.date())
    assert (done.messages, done.events, done.orders) == (6, 3, 1)   # O1 (filled) goes; O3 is open: kept
    assert journal.find_order(order_id="O1") is None and journal.find_order(cl_ord_id="C1") is None
    assert journal.find_order(order_id="O3") is not None and journal.find_order(order_id="O2") is not None
    assert archive.first_day() == DAY2.date() and archive.count_messages(ArchiveQuery()) == 3


def test_purge_plan_takes_only_clean_days_past_the_retention() -> None:
    days = [date(2025, 3, d) for d in range(1, 8)]
    state = {recon_state_key(days[0]): "clean", recon_state_key(days[1]): "breaks", f"recon:{days[3]}:cbp": "clean",
             recon_state_key(days[4]): "clean", recon_state_key(days[6]): "clean", "recon:junk": "clean"}
    plan = plan_purge(today=days[6], days=2, first_day=days[0], verdicts=recon_verdicts(state),
                      has_data=lambda day: day != days[2])
    assert plan.cutoff == days[4]
    assert plan.purge == [days[0]]                 # day 5 is clean but inside the retention
    assert plan.breaks == [days[1]]
    assert plan.unreconciled == [days[3]]          # a per-venue verdict is not the day's verdict
    assert plan_purge(today=days[6], days=2, first_day=None, verdicts={}, has_data=lambda _: True).purge == []
    with pytest.raises(ValueError):
        plan_purge(today=days[6], days=0, first_day=days[0], verdicts={}, has_data=lambda _: True)


def test_audit_purge_command_deletes_only_clean_days_past_the_retention(archive: Archive, journal: Journal,
                                                                         journal_url: str,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from fixgw.cli import main

    assert main(["audit", "purge", "--journal", journal_url]) == 1          # no retention configured
    journal.write(JournalBatch(state={recon_state_key(DAY1.date()): "clean", recon_state_key(DAY2.date()): "breaks"}))
    assert main(["audit", "purge", "--journal", journal_url, "--days", "1", "--dry-run"]) == 0
    assert "would purge 2025-03-10: 6 messages, 3 events" in capsys.readouterr().out
    assert archive.count_messages(ArchiveQuery()) == 9
    assert main(["audit", "purge", "--journal", journal_url, "--days", "1"]) == 0
    out, err = capsys.readouterr()
    assert "purged 2025-03-10: 6 messages, 3 events, 0 fills, 1 closed orders" in out
    assert "kept 2025-03-11: reconciliation found breaks" in err
    assert archive.first_day() == DAY2.date() and archive.count_messages(ArchiveQuery()) == 3
