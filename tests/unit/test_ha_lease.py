"""The HA lease on the real local PostgreSQL (a schema per test): election, renewal, step-down, takeover from a
dead holder (advisory lock) and from a paused one (expiry), and the fence on journal writes - down to a router
thread that wakes up after losing its lease and can neither write nor send."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pgschema import postgres_schema
from risk_harness import AAPL, BTC, GME, ROUTING
from sqlalchemy import text
from test_runner_commit import SPECS, GatedJournal, RecordingVenue
from waiting import wait_until

from fixgw.engine.runner import Runner
from fixgw.engine.translation import DialectTranslator
from fixgw.ha.node import HaNode, Role
from fixgw.ha.settings import HaConfig
from fixgw.model.instruments import SymbolMaster
from fixgw.router.book import OrderBook
from fixgw.router.core import EmsPolicy, RouterCore
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable
from fixgw.store import Journal, JournalBatch, MessageRecord
from fixgw.store.lease import Lease, read_state, request_step_down
from fixgw.store.records import FencedError

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get("FIXGW_TEST_DATABASE_URL")
    if not base:
        pytest.skip("FIXGW_TEST_DATABASE_URL is not set")
    with postgres_schema(base, "test_lease_") as url:
        yield url


@pytest.fixture
def journal(pg_url: str) -> Iterator[Journal]:
    with Journal(pg_url) as opened:
        yield opened


def lease(journal: Journal, node: str, lease_s: float = 5.0) -> Lease:
    return Lease(journal.engine, cluster="desk", node_id=node, lease_s=lease_s)




def test_one_holder_at_a_time_and_each_takeover_raises_the_epoch(journal: Journal) -> None:
    a, b = lease(journal, "a"), lease(journal, "b")
    try:
        assert a.acquire() == 1 and a.has_lock
        assert b.acquire() is None and not b.has_lock
        assert a.renew() and a.renew()
        state = read_state(journal.engine, "desk")
        assert (state.holder, state.epoch, state.held) == ("a", 1, True)
        a.close()  # the holder's process is gone: PostgreSQL drops its advisory lock with the connection
        # Well before the 5 s lease runs out (the server notices the closed connection in a moment).
        assert wait_until(lambda: b.acquire() is not None, timeout=4.0)
        assert b.epoch == 2 and b.has_lock
        assert not a.renew() and a.epoch is None
    finally:
        a.close()
        b.close()


def test_a_paused_holder_loses_the_lease_when_it_expires(journal: Journal) -> None:
    a, b = lease(journal, "a", lease_s=1.0), lease(journal, "b", lease_s=1.0)
    try:
        assert a.acquire() == 1  # and a keeps its connection (and advisory lock) but stops renewing: paused
        assert b.acquire() is None
        assert wait_until(lambda: b.acquire() is not None)
        assert b.epoch == 2 and not b.has_lock  # the lock is still a's: b took over on expiry
        assert not a.renew()
        a.close()
        assert b.renew() and b.has_lock  # picked up once a's connection went
    finally:
        a.close()
        b.close()


def test_journal_writes_are_fenced_by_the_epoch(journal: Journal) -> None:
    a, b = lease(journal, "a"), lease(journal, "b")
    try:
        assert a.acquire() == 1
        a.install_fence(journal.engine)
        journal.write(JournalBatch(state={"k": "from a"}))
        a.close()
        assert wait_until(lambda: b.acquire() is not None) and b.epoch == 2
        with pytest.raises(FencedError):
            journal.write(JournalBatch(state={"k": "stale a"}))
        with pytest.raises(FencedError):
            journal.allocate_run_id()
        assert journal.get_state("k") == "from a"  # reads are not fenced; nothing of the stale writes landed
    finally:
        a.remove_fence(journal.engine)
        a.close()
        b.close()


def test_step_down_hands_over_at_once_and_fences_the_old_holder(journal: Journal) -> None:
    a, b = lease(journal, "a"), lease(journal, "b")
    try:
        assert a.acquire() == 1
        assert request_step_down(journal.engine, "desk") == ("a", 1)
        assert a.renew() and a.step_down_requested  # the active learns it at its next renewal
        assert a.step_down()
        assert b.acquire() == 2
        assert read_state(journal.engine, "desk").holder == "b"
        assert request_step_down(journal.engine, "other") is None
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("idle_timeout", [True, False])
def test_a_write_paused_inside_its_transaction_cannot_block_the_takeover(journal: Journal, idle_timeout: bool) -> None:
    """A holder stopped in the middle of a write holds a FOR SHARE lock on the lease row. PostgreSQL ends its
    session after lease_s idle in the transaction - or, where that timeout does not apply (pipelined statements
    awaiting their Sync), the standby ends the expired holder's sessions - and the takeover goes through."""
    a, b = lease(journal, "a", lease_s=1.0), lease(journal, "b", lease_s=1.0)
    try:
        assert a.acquire() == 1
        a.install_fence(journal.engine)
        connection = journal.engine.connect()
        transaction = connection.execution_options(fixgw_write=True).begin()  # the fence's FOR SHARE is taken
        if not idle_timeout:
            connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
        assert wait_until(lambda: b.acquire() is not None)
        with pytest.raises(Exception):  # noqa: B017 - the server ended the paused session
            connection.execute(text("SELECT 1"))
            transaction.commit()
        connection.invalidate()
        assert b.epoch == 2
    finally:
        a.remove_fence(journal.engine)
        a.close()
        b.close()


def test_ending_an_expired_holder_spares_a_namesake_on_another_schema(journal: Journal) -> None:
    """pg_stat_activity spans the server: ending node a's sessions in this schema must not end those of another
    pair (another schema, here another test running beside this one) whose cluster and node are named alike."""
    with postgres_schema(os.environ["FIXGW_TEST_DATABASE_URL"], "test_lease_") as other_url, \
            Journal(other_url) as other:
        namesake = lease(other, "a")
        namesake.install_fence(other.engine)
        assert namesake.acquire() == 1
        connection = other.engine.connect()
        connection.execute(text("SELECT 1"))  # a named session of the other schema's node a, idle
        a, b = lease(journal, "a", lease_s=1.0), lease(journal, "b", lease_s=1.0)
        a.install_fence(journal.engine)
        try:
            assert a.acquire() == 1
            mine = journal.engine.connect()
            mine.execute(text("SELECT 1"))
            assert wait_until(lambda: not read_state(journal.engine, "desk").held)
            b._end_expired_holder()
            assert connection.execute(text("SELECT 1")).scalar_one() == 1   # the namesake's session lives on
            with pytest.raises(Exception):  # noqa: B017 - ours (the expired holder's) was ended
                mine.execute(text("SELECT 1"))
            mine.invalidate()
        finally:
            connection.close()
            a.remove_fence(journal.engine)
            namesake.remove_fence(other.engine)
            a.close()
            b.close()
            namesake.close()


def test_the_node_stops_trusting_its_lease_on_its_own_clock(journal: Journal) -> None:
    fenced: list[str] = []
    settings = HaConfig(enabled=True, node_id="a", cluster="desk", lease_s=1.0, poll_every_s=0.05)
    node = HaNode(settings, lease(journal, "a", lease_s=1.0), on_fenced=fenced.append)
    try:
        assert node.wait_active(threading.Event())
        assert node.may_send() and node.role is Role.ACTIVE
        # No renewal (the process was paused): once lease_s has passed on the monotonic clock it may not send.
        assert wait_until(lambda: not node.may_send(), 10)
        node.check()
        assert node.role is Role.FENCED and len(fenced) == 1
        node.check()
        assert len(fenced) == 1  # once
    finally:
        node.stop()


def test_a_thread_that_finds_the_node_fencing_waits_until_fencing_is_done(journal: Journal) -> None:
    """A heartbeat due right after a pause meets a node another thread is fencing (the process about to exit):
    its fence() must not return - letting the message reach the socket - before `on_fenced` has."""
    exiting, release = threading.Event(), threading.Event()
    fenced: list[str] = []

    def on_fenced(reason: str) -> None:  # stands for the process ending: slow to log, never returns in production
        exiting.set()
        release.wait(10)
        fenced.append(reason)

    settings = HaConfig(enabled=True, node_id="a", cluster="desk", lease_s=1.0, poll_every_s=0.05)
    node = HaNode(settings, lease(journal, "a", lease_s=1.0), on_fenced=on_fenced)
    try:
        assert node.wait_active(threading.Event())
        first = threading.Thread(target=node.fence, args=("lease expired",))
        first.start()
        assert wait_until(exiting.is_set, 10, "the first fencer in on_fenced")
        returned = threading.Event()
        second = threading.Thread(target=lambda: (node.fence("a message about to leave"), returned.set()))
        second.start()
        assert not returned.wait(0.3)  # held while the first fencer is still in on_fenced
        release.set()
        assert wait_until(returned.is_set, 10, "the second caller released once fencing is done")
        first.join(10)
        second.join(10)
        assert fenced == ["lease expired"]  # on_fenced once
    finally:
        release.set()
        node.stop()


def test_a_router_thread_that_wakes_after_losing_the_lease_writes_and_sends_nothing(pg_url: str) -> None:
    journal = GatedJournal(pg_url)
    journal.open()
    a, b = lease(journal, "a", lease_s=1.0), lease(journal, "b", lease_s=1.0)
    symbols = SymbolMaster([AAPL, GME, BTC])
    core = RouterCore(book=OrderBook(), routes=RouteTable(ROUTING), ids=IdFactory(run_id=7), symbols=symbols,
                      ems_policies={"EMS1": EmsPolicy()}, is_connected=lambda _venue: True)
    venue = RecordingVenue(journal)
    to_ems: list[list[tuple[int, str]]] = []
    codec = DialectTranslator.create("ems-default", "FIX.4.4", symbols, SPECS)
    runner = Runner(core, journal, {"BRK": venue}, {"EMS1": codec},  # type: ignore[dict-item]
                    lambda _session, fields: to_ems.append(fields) or True)
    fenced: list[str] = []
    runner.on_fenced = fenced.append
    try:
        assert a.acquire() == 1
        a.install_fence(journal.engine)
        runner.start()
        journal.gate.clear()  # the router thread stops before its commit: the process is paused
        runner.submit_ems("EMS1", [(35, "D"), (11, "C1"), (1, "ACC1"), (55, "AAPL"), (54, "1"), (38, "100"),
                                   (40, "2"), (44, "10.00"), (59, "0"), (60, "20310314-15:09:26.000")],
                          datetime.now(UTC))
        assert wait_until(lambda: runner._queue.empty())
        assert wait_until(lambda: b.acquire() is not None)  # meanwhile the standby takes over
        journal.gate.set()  # the thread wakes up
        assert wait_until(lambda: fenced != [])
        assert venue.sent == [] and to_ems == []
        assert journal.find_order(cl_ord_id="C1", ems_session="EMS1") is None
    finally:
        journal.gate.set()
        runner.stop()
        a.remove_fence(journal.engine)
        a.close()
        b.close()
        journal.close()


def test_ha_settings_are_checked(tmp_path: Path) -> None:
    from fixgw.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as error:
        parse_config({"state_dir": str(tmp_path), "ha": {"enabled": True, "renew_every_s": 3}})
    keys = [key for key, _reason in error.value.problems]
    assert keys == ["ha.node_id", "ha.enabled", "ha.renew_every_s"]
    assert "PostgreSQL" in dict(error.value.problems)["ha.enabled"]
    config = parse_config({"state_dir": str(tmp_path), "journal": {"url": "postgresql+psycopg://u@h/db"},
                           "ha": {"enabled": True, "node_id": "fixgw-a"}})
    assert config.ha.renew_period_s == pytest.approx(5 / 3)


def test_the_standby_reports_how_far_it_is_behind_the_journal(journal: Journal) -> None:
    from fixgw.store.haview import read_views, standby_lag

    a = lease(journal, "a")
    settings = HaConfig(enabled=True, node_id="b", cluster="desk", lease_s=5.0, poll_every_s=0.05)
    standby = HaNode(settings, lease(journal, "b"))
    stop = threading.Event()
    waiting = threading.Thread(target=standby.wait_active, args=(stop,))
    try:
        assert a.acquire() == 1
        waiting.start()
        [view] = wait_until(lambda: read_views(journal.engine, "desk", exclude="a"))
        assert (view.node, view.role, view.rows_behind, view.lag_s) == ("b", "standby", 0, 0.0)
        stop.set()  # the standby stops reading (hung, cut off) while the active writes on
        waiting.join(5)
        now = datetime.now(UTC)
        journal.write(JournalBatch(messages=[MessageRecord("ems-a", "in", "D", f"34={n}", now, seq_num=n)
                                             for n in range(1, 4)]))
        [view] = read_views(journal.engine, "desk", exclude="a")
        assert view.rows_behind == 3 and view.lag_s > 0 and standby_lag([view]) == view.lag_s
        status = standby.status()
        assert status["standby_lag_s"] >= view.lag_s and status["standbys"][0]["rows_behind"] == 3
        stop.clear()  # it reads again: caught up
        waiting = threading.Thread(target=standby.wait_active, args=(stop,))
        waiting.start()
        wait_until(lambda: read_views(journal.engine, "desk", exclude="a")[0].rows_behind == 0)
        stop.set()
        waiting.join(5)
        standby.stop()  # a standby that leaves takes its view with it
        assert read_views(journal.engine, "desk") == []
    finally:
        stop.set()
        a.close()
        standby.stop()
