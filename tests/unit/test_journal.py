"""The journal on SQLite and PostgreSQL: schema by migration, exact round trips, atomic batches,
de-duplicated fills, lookups by every id, run ids under concurrency, streaming reads, durability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.orders import Fill
from fixgw.model.state import Order, OrderEvent, amend, apply
from fixgw.store import EventRecord, Journal, JournalBatch, JournalError, MessageRecord
from fixgw.store import schema as tables
from fixgw.store.database import MIGRATIONS, VERSION_TABLE, alembic_config, head_revision, make_engine

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 14, 13, 30, 0, 123456, tzinfo=UTC)
TABLES = {"orders", "order_aliases", "events", "fills", "messages", "state", "counters", "journal_alembic_version",
          "recon_runs", "recon_breaks", "transfers",
          "reference_prices", "margin_snapshots", "ha_lease", "ha_session_out", "venue_wire",
          "ha_job_run", "ha_node_view"}


def make_order(n: int = 1, *, qty: str = "100", session: str = "EMS1", **fields: Any) -> Order:
    fields = {"created_at": T0, "updated_at": T0, **fields}
    return Order(order_id=f"ORD-{n}", ems_session=session, cl_ord_id=f"C{n}", cl_ord_id_chain=[f"C{n}"],
                 instrument_id="BTC/USD", side=Side.BUY, ord_type=OrdType.LIMIT, order_qty=qty,
                 price="64123.4567890123", venue="CPB", venue_cl_ord_id=f"R1-{n}", **fields)


def a_fill(exec_id: str, qty: str, price: str = "64000.0000000001", venue: str = "CPB") -> Fill:
    return Fill(exec_id=exec_id, venue=venue, qty=qty, price=price, time=T0, commission="0.0000012345")


def message(n: int, *, session: str = "EMS1", direction: str = "in", msg_type: str = "D",
            at: datetime = T0, order_id: str | None = None, cl_ord_id: str | None = None) -> MessageRecord:
    return MessageRecord(session=session, direction=direction, msg_type=msg_type, raw=f"8=FIX.4.4\x0134={n}\x01",
                         at=at, order_id=order_id, cl_ord_id=cl_ord_id, seq_num=n)


def filled_order(n: int = 1) -> tuple[Order, list[Fill]]:
    order = make_order(n)
    apply(order, OrderEvent.ACK, at=T0)
    order.venue_order_id = f"V-{n}"
    fills = [a_fill(f"E{n}-1", "0.0000000001"), a_fill(f"E{n}-2", "33.3333333333", price="64123.9")]
    for fill in fills:
        apply(order, OrderEvent.FILL, fill=fill, at=T0 + timedelta(microseconds=1))
    return order, fills


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def run_threads(count: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


# --- schema --------------------------------------------------------------------------------------------------


def test_open_migrates_to_head_and_reopening_changes_nothing(journal_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with Journal(journal_url) as journal:
        journal.open()                                   # idempotent on an open journal
        with journal.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
            migration = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert migration.get_current_revision() == head
        journal.write(JournalBatch(orders={"ORD-1": make_order()}))
        run_id = journal.allocate_run_id()
    with Journal(journal_url) as reopened:
        assert reopened.counts()["orders"] == 1
        assert reopened.allocate_run_id() == run_id + 1   # the counter was not re-seeded


def test_migrations_create_exactly_the_schema_the_code_uses(journal: Journal) -> None:
    with journal.engine.connect() as connection:
        migration = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(migration, tables.metadata) == []


def test_alembic_cli_upgrades_a_fresh_database(journal_url: str) -> None:
    ini = str(MIGRATIONS / "alembic.ini")
    code = "import sys; from alembic.config import main; sys.exit(main(sys.argv[1:]))"
    upgraded = run_python(code, "-c", ini, "-x", f"url={journal_url}", "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    current = run_python(code, "-c", ini, "-x", f"url={journal_url}", "current")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"{head} (head)" in current.stdout, current.stderr
    with Journal(journal_url) as journal:
        assert journal.counts()["orders"] == 0


def test_journals_opening_a_fresh_database_at_once_migrate_it_once(journal_url: str) -> None:
    journals = [Journal(journal_url) for _ in range(4)]
    try:
        run_threads(len(journals), lambda i: journals[i].open())
        assert {j.allocate_run_id() for j in journals} == {1, 2, 3, 4}
    finally:
        for journal in journals:
            journal.close()


def test_sqlite_connections_switching_a_new_file_to_wal_at_once_wait_for_each_other(tmp_path: Path) -> None:
    """SQLite answers "database is locked" at once, without its busy handler, to a connection switching a new
    file to WAL while another does (about 1 round in 20 here): the switch is retried within the busy timeout."""
    for round_ in range(40):
        url = f"sqlite:///{tmp_path / f'journal-{round_}.db'}"
        engines = [make_engine(url) for _ in range(4)]
        try:
            run_threads(len(engines), lambda i, engines=engines: engines[i].connect().close())
        finally:
            for engine in engines:
                engine.dispose()


def test_open_reports_an_unreachable_database_as_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError):
        Journal(f"sqlite:///{tmp_path / 'missing-dir' / 'journal.db'}").open()
    with pytest.raises(ValueError, match="unsupported"):
        Journal("mysql://localhost/x").open()
    with pytest.raises(ValueError, match="not durable"):
        Journal("sqlite://").open()


# --- orders --------------------------------------------------------------------------------------------------


def test_orders_round_trip_exactly_with_fills_and_decimals(journal: Journal) -> None:
    order, fills = filled_order(1)
    done = make_order(2, qty="0.5")
    apply(done, OrderEvent.ACK, at=T0)
    apply(done, OrderEvent.FILL, fill=a_fill("E2-1", "0.5"), at=T0)
    journal.write(JournalBatch(orders={o.order_id: o for o in (order, done)},
                               fills=[(order.order_id, f) for f in fills]))

    loaded = {o.order_id: o for o in journal.load_orders()}
    assert loaded == {"ORD-1": order, "ORD-2": done}
    restored = loaded["ORD-1"]
    assert restored.cum_qty == Decimal("33.3333333334")
    assert restored.leaves_qty == Decimal("66.6666666666")
    assert restored.avg_px == order.avg_px
    assert restored.updated_at == T0 + timedelta(microseconds=1) and restored.updated_at.tzinfo is not None
    assert [o.order_id for o in journal.load_orders(open_only=True)] == ["ORD-1"]
    with journal.engine.connect() as connection:
        stored = connection.execute(select(tables.fills.c.qty, tables.fills.c.price, tables.fills.c.commission)
                                    .order_by(tables.fills.c.id)).all()
    assert stored == [(f.qty, f.price, f.commission) for f in fills]


def test_the_latest_snapshot_wins(journal: Journal) -> None:
    order = make_order(1)
    journal.write(JournalBatch(orders={order.order_id: order}))
    apply(order, OrderEvent.ACK, at=T0 + timedelta(seconds=1))
    apply(order, OrderEvent.CANCELED, at=T0 + timedelta(seconds=2))
    journal.write(JournalBatch(orders={order.order_id: order}))
    assert journal.load_orders() == [order]
    assert journal.load_orders(open_only=True) == []
    assert journal.counts()["open_orders"] == 0


def test_a_fill_journaled_twice_is_skipped_without_failing_the_batch(journal: Journal) -> None:
    order, fills = filled_order(1)
    journal.write(JournalBatch(orders={order.order_id: order}, fills=[("ORD-1", fills[0])]))
    same_venue_exec = a_fill(fills[0].exec_id, "7")
    other_venue = a_fill(fills[0].exec_id, "7", venue="BRK")
    journal.write(JournalBatch(fills=[("ORD-1", same_venue_exec), ("ORD-1", fills[1]), ("ORD-1", fills[1]),
                                      ("ORD-1", other_venue)],
                               messages=[message(1)], state={"k": "v"}))
    with journal.engine.connect() as connection:
        rows = connection.execute(select(tables.fills.c.venue, tables.fills.c.exec_id, tables.fills.c.qty)
                                  .order_by(tables.fills.c.id)).all()
    assert rows == [("CPB", "E1-1", fills[0].qty), ("CPB", "E1-2", fills[1].qty), ("BRK", "E1-1", Decimal(7))]
    assert journal.counts()["messages"] == 1 and journal.get_state("k") == "v"


def test_find_order_by_every_key_including_an_older_clordid_of_a_replace_chain(journal: Journal) -> None:
    order, _ = filled_order(1)
    journal.write(JournalBatch(orders={"ORD-1": order}))      # each step is journaled before it is sent
    for n, qty in ((1, 200), (2, 150)):
        apply(order, OrderEvent.REPLACE_REQUESTED, at=T0)
        order.venue_cl_ord_id = f"R{n + 1}-1"                  # our outbound id moves on with each replace
        journal.write(JournalBatch(orders={"ORD-1": order}))
        amend(order, cl_ord_id=f"C1-R{n}", order_qty=Decimal(qty), price=Decimal("64000"))
        journal.write(JournalBatch(orders={"ORD-1": order}))
    journal.write(JournalBatch(orders={"ORD-2": make_order(2, session="EMS2")}))

    def found(**keys: str) -> str | None:
        hit = journal.find_order(**keys)
        return None if hit is None else hit.order_id

    assert found(order_id="ORD-1") == "ORD-1"
    for cl_ord_id in ("C1", "C1-R1", "C1-R2"):
        assert found(ems_session="EMS1", cl_ord_id=cl_ord_id) == "ORD-1"
        assert found(cl_ord_id=cl_ord_id) == "ORD-1"
    for venue_cl_ord_id in ("R1-1", "R2-1", "R3-1"):          # older outbound ids still find it
        assert found(venue_cl_ord_id=venue_cl_ord_id) == "ORD-1"
    assert found(venue_order_id="V-1") == "ORD-1"
    assert found(ems_session="EMS2", cl_ord_id="C2") == "ORD-2"
    assert found(ems_session="EMS2", cl_ord_id="C1") is None      # ClOrdIDs are per EMS session
    assert found(order_id="ORD-2", cl_ord_id="C1") is None         # every key given must match
    assert found(order_id="ORD-404") is None
    assert journal.find_order(cl_ord_id="C1-R2") == order
    with pytest.raises(ValueError):
        journal.find_order()
    with pytest.raises(ValueError):
        journal.find_order(ems_session="EMS1")


def test_a_reused_clordid_finds_the_latest_order(journal: Journal) -> None:
    journal.write(JournalBatch(orders={"ORD-1": make_order(1)}))
    reused = make_order(2, updated_at=T0 + timedelta(days=1))
    reused.cl_ord_id, reused.cl_ord_id_chain = "C1", ["C1"]
    journal.write(JournalBatch(orders={"ORD-2": reused}))
    assert journal.find_order(ems_session="EMS1", cl_ord_id="C1") == reused


# --- run ids, state, atomicity ----------------------------------------------------------------------------


def test_run_ids_are_unique_and_increasing_across_threads_and_journals(journal_url: str) -> None:
    journals = [Journal(journal_url), Journal(journal_url)]
    per_thread: dict[int, list[int]] = {}
    try:
        for journal in journals:
            journal.open()

        def allocate(i: int) -> None:
            per_thread[i] = [journals[i % 2].allocate_run_id() for _ in range(15)]

        run_threads(6, allocate)
    finally:
        for journal in journals:
            journal.close()
    everything = [run_id for ids in per_thread.values() for run_id in ids]
    assert sorted(everything) == list(range(1, 91))
    assert all(ids == sorted(ids) for ids in per_thread.values())


def test_state_is_last_write_wins(journal: Journal) -> None:
    assert journal.get_state("kill_switch") is None
    journal.write(JournalBatch(state={"kill_switch": "on", "mode": "live"}))
    journal.write(JournalBatch(state={"kill_switch": "off"}))
    assert (journal.get_state("kill_switch"), journal.get_state("mode")) == ("off", "live")


def test_a_batch_that_fails_midway_leaves_nothing_behind(journal: Journal) -> None:
    order, fills = filled_order(1)
    journal.write(JournalBatch(state={"kill_switch": "off"}))
    before = journal.counts()
    broken = message(2)
    broken.msg_type = None  # type: ignore[assignment]   # NOT NULL: fails after orders, events and fills
    batch = JournalBatch(orders={"ORD-1": order}, events=[EventRecord("ORD-1", "ack", "0", T0, {})],
                         fills=[("ORD-1", fills[0])], messages=[message(1), broken], state={"kill_switch": "on"})
    with pytest.raises(JournalError):
        journal.write(batch)
    assert journal.counts() == before
    assert journal.find_order(cl_ord_id="C1") is None
    assert journal.get_state("kill_switch") == "off"
    broken.msg_type = "8"
    journal.write(batch)                              # the same batch goes through once fixed
    assert journal.counts()["fills"] == 1 and journal.get_state("kill_switch") == "on"
    found = journal.find_order(cl_ord_id="C1")        # its ClOrdIDs too: the failed write did not count as written
    assert found is not None and found.order_id == "ORD-1"
    assert journal.find_order(venue_cl_ord_id="R1-1") == found


def test_naive_timestamps_are_refused(journal: Journal) -> None:
    with pytest.raises(JournalError, match="naive"):
        journal.write(JournalBatch(messages=[message(1, at=datetime(2025, 1, 1, 12, 0))]))
    assert journal.counts()["messages"] == 0


def test_a_message_direction_other_than_in_or_out_is_refused(journal: Journal) -> None:
    with pytest.raises(JournalError):
        journal.write(JournalBatch(messages=[message(1, direction="sideways")]))
    assert journal.counts()["messages"] == 0


def test_empty_batch_writes_nothing(journal: Journal) -> None:
    assert JournalBatch().is_empty()
    journal.write(JournalBatch())
    assert set(journal.counts().values()) == {0}


# --- messages and events -----------------------------------------------------------------------------------


def test_iter_messages_filters_and_keeps_journal_order(journal: Journal) -> None:
    plus2 = timezone(timedelta(hours=2))
    records = [message(1, at=T0, order_id="ORD-1", cl_ord_id="C1"),
               message(2, direction="out", msg_type="8", at=T0 + timedelta(microseconds=1), order_id="ORD-1"),
               message(3, session="EMS2", msg_type="F", at=T0 - timedelta(seconds=5), cl_ord_id="C9"),
               message(4, direction="out", msg_type="8", at=(T0 + timedelta(seconds=1)).astimezone(plus2)),
               message(5, msg_type="0", at=T0 + timedelta(seconds=2))]
    journal.write(JournalBatch(messages=records[:2]))
    journal.write(JournalBatch(messages=records[2:]))

    def seqs(**filters: Any) -> list[int | None]:
        return [m.seq_num for m in journal.iter_messages(**filters)]

    assert seqs() == [1, 2, 3, 4, 5]                    # insertion order, not time order
    assert seqs(session="EMS2") == [3]
    assert seqs(direction="out") == [2, 4]
    assert seqs(msg_types=["8", "F"]) == [2, 3, 4]
    assert seqs(order_id="ORD-1") == [1, 2]
    assert seqs(cl_ord_id="C9") == [3]
    assert seqs(since=T0, until=T0 + timedelta(seconds=1)) == [1, 2]   # since inclusive, until exclusive
    assert seqs(since=T0 + timedelta(microseconds=1)) == [2, 4, 5]
    assert seqs(session="EMS1", direction="out", since=T0 + timedelta(seconds=1)) == [4]
    first = next(journal.iter_messages())
    assert first == records[0] and first.at.tzinfo is not None and first.at.microsecond == 123456
    assert next(journal.iter_messages(session="EMS1", direction="out", msg_types=["8"], since=T0 +
                                      timedelta(microseconds=2))).at == T0 + timedelta(seconds=1)


def test_iter_messages_streams_while_the_router_keeps_writing(journal: Journal) -> None:
    journal.write(JournalBatch(messages=[message(n, at=T0 + timedelta(microseconds=n)) for n in range(3000)]))
    stream = journal.iter_messages()
    assert next(stream).seq_num == 0
    journal.write(JournalBatch(messages=[message(9999)]))   # a reader must never block the writer
    assert sum(1 for _ in stream) >= 2999
    partial = journal.iter_messages()
    next(partial)
    partial.close()                                         # abandoning a stream returns its connection
    assert journal.engine.pool.checkedout() == 0
    assert journal.counts()["messages"] == 3001


def test_iter_events_round_trips_and_filters(journal: Journal) -> None:
    events = [EventRecord("ORD-1", "ack", "0", T0, {"venue": "CPB"}),
              EventRecord("ORD-2", "deny", "DENIED", T0 + timedelta(seconds=1), {"text": "risk: notional ✗"}),
              EventRecord("ORD-1", "fill", "1", T0 + timedelta(seconds=2), {"exec_id": "E1", "qty": "0.1"})]
    journal.write(JournalBatch(events=events))
    assert list(journal.iter_events()) == events
    assert list(journal.iter_events(order_id="ORD-1")) == [events[0], events[2]]
    assert list(journal.iter_events(since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=2))) == [events[1]]


def test_counts(journal: Journal) -> None:
    order, fills = filled_order(1)
    journal.write(JournalBatch(orders={"ORD-1": order, "ORD-2": make_order(2, status=OrdStatus.REJECTED)},
                               events=[EventRecord("ORD-1", "ack", "0", T0, {})], fills=[("ORD-1", fills[0])],
                               messages=[message(1), message(2)], state={"a": "1"}))
    assert journal.counts() == {"orders": 2, "open_orders": 1, "events": 1, "fills": 1, "messages": 2, "state": 1}


# --- durability ---------------------------------------------------------------------------------------------

_READ_BACK = """
    import json, sys
    from fixgw.store import Journal
    with Journal(sys.argv[1]) as journal:
        print(json.dumps({"orders": [o.model_dump(mode="json") for o in journal.load_orders()],
                          "messages": [m.raw for m in journal.iter_messages()],
                          "state": journal.get_state("kill_switch")}))
"""


def test_a_write_is_readable_by_a_fresh_process(journal: Journal, journal_url: str) -> None:
    order, fills = filled_order(1)
    journal.write(JournalBatch(orders={"ORD-1": order}, fills=[("ORD-1", fills[0])], messages=[message(7)],
                               state={"kill_switch": "on"}))
    child = run_python(_READ_BACK, journal_url)
    assert child.returncode == 0, child.stderr
    read_back = json.loads(child.stdout)
    assert [Order.model_validate(o) for o in read_back["orders"]] == [order]
    assert read_back["messages"] == [message(7).raw] and read_back["state"] == "on"


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_a_write_survives_kill_9_right_after_it_returns(journal_url: str, sync: str) -> None:
    writer = run_python("""
        import os, signal, sys
        from datetime import UTC, datetime
        from fixgw.model.enums import OrdType, Side
        from fixgw.model.state import Order
        from fixgw.store import Journal, JournalBatch
        journal = Journal(sys.argv[1], sys.argv[2])
        journal.open()
        order = Order(order_id="ORD-K", ems_session="EMS1", cl_ord_id="CK", instrument_id="AAPL",
                      side=Side.SELL, ord_type=OrdType.LIMIT, order_qty="12.5", price="187.0001")
        journal.write(JournalBatch(orders={"ORD-K": order}))
        print(order.model_dump_json(), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)           # no close, no atexit, no flush
    """, journal_url, sync)
    assert writer.returncode == -signal.SIGKILL, writer.stderr
    with Journal(journal_url) as journal:
        assert journal.load_orders() == [Order.model_validate_json(writer.stdout)]


@pytest.mark.parametrize(("sync", "sqlite_level", "postgres_commit"), [("full", 2, "on"), ("normal", 1, "off")])
def test_the_sync_setting_reaches_every_write_connection(journal_url: str, sync: Any, sqlite_level: int,
                                                         postgres_commit: str) -> None:
    """journal.sync: SQLite's synchronous level (2 FULL, 1 NORMAL) on the engine's connections and the fast writer's;
    PostgreSQL's synchronous_commit on the gateway's connections."""
    with Journal(journal_url, sync) as journal, journal.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == sqlite_level
            assert journal._driver_rows is not None
            assert journal._driver_rows._db.execute("PRAGMA synchronous").fetchone() == (sqlite_level,)
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar_one() == postgres_commit


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_reopening_a_journal_at_head_leaves_alembic_unloaded(journal_url: str) -> None:
    """Start-up imports: a journal already migrated opens without Alembic (and Mako); a new one still migrates."""
    with Journal(journal_url):
        pass
    child = run_python("""
        import sys
        from fixgw.store import Journal
        with Journal(sys.argv[1]) as journal:
            journal.counts()
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("alembic", "mako")))
    """, journal_url)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"

