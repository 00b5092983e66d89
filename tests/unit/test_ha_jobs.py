"""Scheduled jobs across a takeover, two nodes on the real local PostgreSQL: each fire time runs once whoever is
active - a fire the old active ran just before it died is not run again, a run it left unfinished and a fire it
missed are run once by the new active, and a fenced node claims nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from test_ha_lease import pg_url  # noqa: F401  (fixture)
from waiting import wait_until

from fixgw.ha.jobs import ANCHOR, ClaimedJob
from fixgw.ha.node import HaNode
from fixgw.ha.settings import HaConfig
from fixgw.store import Journal
from fixgw.store.jobruns import JobClaims
from fixgw.store.lease import Lease

pytestmark = pytest.mark.postgres

EVERY = timedelta(seconds=1)


class Node:
    """One gateway's share of the job machinery: its own journal engine, lease (fence installed) and claims."""

    def __init__(self, url: str, name: str, lease_s: float = 5.0) -> None:
        self.name = name
        self.journal = Journal(url)
        self.journal.open()
        self.lease = Lease(self.journal.engine, cluster="desk", node_id=name, lease_s=lease_s)
        self.lease.install_fence(self.journal.engine)
        self.claims = JobClaims(self.journal.engine, cluster="desk", node=name, epoch=lambda: self.lease.epoch)

    def close(self) -> None:
        self.lease.remove_fence(self.journal.engine)
        self.lease.close()
        self.journal.close()


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[Node, Node]]:  # noqa: F811
    a, b = Node(pg_url, "a"), Node(pg_url, "b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def fire(n: int) -> datetime:
    return datetime(2026, 12, 7, 14, 0, tzinfo=UTC) + n * EVERY


def test_each_fire_runs_once_across_a_takeover(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    ran: list[tuple[str, datetime]] = []
    now = [fire(1)]
    trigger = IntervalTrigger(seconds=1, start_date=ANCHOR, timezone=UTC)

    def job(node: Node) -> ClaimedJob:
        return ClaimedJob("tick", trigger, lambda at: ran.append((node.name, at)), node.claims, grace=EVERY,
                          clock=lambda: now[0])

    job_a, job_b = job(a), job(b)
    assert a.lease.acquire() == 1
    assert job_a() and not job_b()               # the standby claims nothing
    now[0] = fire(2) + timedelta(milliseconds=300)
    assert job_a()
    assert a.claims.claim("tick", fire(3)) == 1  # a starts the fire of 3 ... and dies in the middle of it
    a.lease.close()
    assert wait_until(lambda: b.lease.acquire() is not None) and b.lease.epoch == 2
    now[0] = fire(2) + timedelta(milliseconds=600)
    assert job_b.missed(now[0]) is None          # fire 2 ran on a just before it died: not again
    now[0] = fire(3) + timedelta(milliseconds=100)
    assert job_b.missed(now[0]) == fire(3)       # left unfinished by the dead node: run once more
    assert job_b(fire(3)) and not job_b(fire(3))
    now[0] = fire(5) + timedelta(milliseconds=100)
    assert job_b.missed(now[0]) == fire(5)       # 4 and 5 missed while nobody ran jobs: coalesced into 5
    assert job_b(fire(5))
    assert not job_a(fire(6))                    # the old active, woken up: fenced, claims nothing
    assert ran == [("a", fire(1)), ("a", fire(2)), ("b", fire(3)), ("b", fire(5))]


def test_a_failed_run_gives_its_claim_up(nodes: tuple[Node, Node]) -> None:
    a, _b = nodes
    assert a.lease.acquire() == 1
    outcomes = iter([False, True])
    job = ClaimedJob("recon", IntervalTrigger(seconds=1, start_date=ANCHOR, timezone=UTC),
                     lambda _at: next(outcomes), a.claims, grace=EVERY, clock=lambda: fire(1))
    assert job() and job.missed(fire(1)) == fire(1)   # failed: still due (a later catch-up may try again)
    assert job() and job.missed(fire(1)) is None
    assert not job()


def test_a_short_interval_job_runs_once_per_fire_time_across_a_kill(pg_url: str) -> None:  # noqa: F811
    """Real schedulers and a real lease (renewed, 1 s): node a runs a 1 s job, dies after one of its runs; b
    takes over and goes on. No fire time runs twice; the latest fire that fell while nobody was active runs."""
    a, b = Node(pg_url, "a", lease_s=1.0), Node(pg_url, "b", lease_s=1.0)
    settings = {name: HaConfig(enabled=True, node_id=name, cluster="desk", lease_s=1.0, poll_every_s=0.05)
                for name in ("a", "b")}
    node_a, node_b = HaNode(settings["a"], a.lease), HaNode(settings["b"], b.lease)
    ran: list[tuple[str, datetime]] = []
    lock = threading.Lock()
    schedulers: list[BackgroundScheduler] = []

    def start_jobs(node: Node) -> datetime | None:
        def work(at: datetime) -> None:
            with lock:
                ran.append((node.name, at))

        scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
        trigger = IntervalTrigger(seconds=1, start_date=ANCHOR, timezone=UTC)
        caught_up = ClaimedJob("tick", trigger, work, node.claims, grace=EVERY).schedule(scheduler, name="tick")
        scheduler.start()
        schedulers.append(scheduler)
        return caught_up

    try:
        assert node_a.wait_active(threading.Event())
        node_a.start_renewing()
        start_jobs(a)
        wait_until(lambda: len(ran) >= 2, what="two runs on a")
        schedulers[0].shutdown(wait=True)  # a dies right after a run: its jobs stop, then its lease connection
        died = datetime.now(UTC)
        node_a.stop()
        assert node_b.wait_active(threading.Event())
        took_over = datetime.now(UTC)
        node_b.start_renewing()
        runs_on_a = list(ran)
        caught_up = start_jobs(b)
        wait_until(lambda: len(ran) >= len(runs_on_a) + 2, what="two runs on b")
        schedulers[1].shutdown(wait=True)
        times = [at for _name, at in ran]
        assert len(times) == len(set(times)), ran                    # never a fire twice
        assert {name for name, _at in ran[len(runs_on_a):]} == {"b"}
        missed = [fire_at for fire_at in _fires(times[0], took_over) if fire_at > died]
        if missed:  # a fire fell while nobody was active: b ran it (or a later one, coalesced) at once
            assert caught_up is not None and caught_up >= missed[-1] and ("b", caught_up) in ran, (missed, ran)
        else:
            assert caught_up is None  # a's last fire is not run again
        assert times == sorted(times)
    finally:
        for scheduler in schedulers:
            if scheduler.running:
                scheduler.shutdown(wait=False)
        node_a.stop()
        node_b.stop()
        a.close()
        b.close()


def _fires(first: datetime, until: datetime) -> list[datetime]:
    found, at = [], first
    while at <= until:
        found.append(at)
        at += EVERY
    return found


def test_a_margin_snapshot_slot_is_recorded_once_and_the_new_active_still_gets_its_guards(
        nodes: tuple[Node, Node]) -> None:
    """Node a records the current slot's snapshot and dies; b, taking over within the same slot, records nothing
    again but reads the venue for its own pre-trade guard (reduce-only here)."""
    from decimal import Decimal

    from test_margin_service import Desk, service

    from fixgw.store.margin import MarginStore

    a, b = nodes
    desk = Desk()
    desk.price = Decimal(57_500)  # reduce-only at this price
    margins = {}
    for node in (a, b):
        margins[node.name] = service(node.journal, desk, [], [])
        margins[node.name].claims = node.claims
    try:
        assert a.lease.acquire() == 1
        margins["a"].start()
        wait_until(lambda: a.claims.ran == 1, what="a's snapshot of the slot")
        margins["a"].stop()
        a.lease.close()  # a dies
        assert wait_until(lambda: b.lease.acquire() is not None)
        margins["b"].start()
        wait_until(lambda: "pb" in margins["b"].guards, what="b's guards")
        assert b.claims.ran == 0 and b.claims.skipped == 1
        snapshots = [row for row in MarginStore(b.journal).rows() if row.kind == "snapshot"]
        assert len(snapshots) == 1
    finally:
        for margin in margins.values():
            margin.stop()


def test_old_claims_are_purged(nodes: tuple[Node, Node]) -> None:
    a, _b = nodes
    assert a.lease.acquire() == 1
    for n in (1, 2, 3):
        assert a.claims.run_once("tick", fire(n), lambda: None)
    a.claims.purge_before(fire(3))
    assert not a.claims.finished("tick", fire(2)) and a.claims.finished("tick", fire(3))


def test_an_end_of_day_recon_run_is_not_repeated_by_the_new_active(nodes: tuple[Node, Node], tmp_path: Path,
                                                                   pg_url: str) -> None:  # noqa: F811
    """Node a reconciles the 17:00 run and dies; b's start after the takeover finds the run covered, and a
    scheduler misfire that calls b's job for the same fire runs nothing."""
    from test_recon_service import NOW, config

    from fixgw.recon.service import ReconService

    a, b = nodes
    cfg = config(tmp_path, pg_url)
    calls: list[tuple[str, str]] = []
    services = {node.name: ReconService(cfg, node.journal, claims=node.claims, clock=lambda: NOW,
                                        run_eod=lambda venue, day, n=node.name: calls.append((n, day.isoformat())))
                for node in (a, b)}
    due = datetime(2026, 11, 20, 17, tzinfo=UTC)
    assert a.lease.acquire() == 1
    services["b"].eod_job("equities", due)  # the standby: claims nothing, runs nothing
    services["a"].eod_job("equities", due)
    a.lease.close()
    assert wait_until(lambda: b.lease.acquire() is not None)
    assert services["b"].missed_run("equities", NOW) is None
    services["b"].eod_job("equities", due)
    assert calls == [("a", "2026-11-20")] and b.claims.skipped == 2
