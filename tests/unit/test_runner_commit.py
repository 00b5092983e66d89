"""The runner's group commit: persist before send, in order, through a slow disk and a journal outage.

A real Runner, RouterCore and SQLite journal; the venue and the EMS session are recorders, and the journal is
wrapped so that commits can be held or made to fail. Nothing may leave before the pass that produced it is
committed, and what leaves keeps the order the router produced it in.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from risk_harness import AAPL, BTC, GME, ROUTING
from waiting import wait_until

from fixgw.engine.runner import Runner
from fixgw.engine.translation import DialectTranslator
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.router.book import OrderBook
from fixgw.router.core import EmsPolicy, RouterCore
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable
from fixgw.store import Journal, JournalBatch, JournalError

SPECS = Path(__file__).resolve().parents[2] / "specs"


class GatedJournal(Journal):
    """A real journal whose commits can be held (gate closed) or made to fail (`failures` left)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()
        self.gate.set()
        self.failures = 0
        self.commits = 0
        """Successful commits (one per router pass that journaled something)."""

    def write(self, batch: JournalBatch) -> None:
        self.gate.wait(10)
        if self.failures:
            self.failures -= 1
            raise JournalError("journal write failed: disk I/O error (injected)")
        super().write(batch)
        self.commits += 1


class RecordingVenue:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.sent: list[str] = []
        self.durable_when_sent: list[bool] = []
        self.tap: Any = None
        """A FIX broker's copy of what it sent, made on the router thread (Runner.tap), when set."""

    def send_new(self, order: NewOrder) -> None:
        """Records the EMS's ClOrdID of the order, found in the journal by our outbound ClOrdID."""
        journaled = self.journal.find_order(venue_cl_ord_id=order.cl_ord_id)
        self.sent.append(journaled.cl_ord_id if journaled is not None else order.cl_ord_id)
        self.durable_when_sent.append(journaled is not None)
        if self.tap is not None:
            self.tap("BRK", "out", "D", [(35, "D"), (11, order.cl_ord_id)])


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.journal = GatedJournal(f"sqlite:///{tmp_path / 'journal.db'}")
        self.journal.open()
        self.venue = RecordingVenue(self.journal)
        self.book = OrderBook()
        self.core = RouterCore(book=self.book, routes=RouteTable(ROUTING), ids=IdFactory(run_id=5),
                               symbols=SymbolMaster([AAPL, GME, BTC]), ems_policies={"EMS1": EmsPolicy()},
                               is_connected=lambda _venue: True)
        codec = DialectTranslator.create("ems-default", "FIX.4.4", SymbolMaster([AAPL, GME, BTC]), SPECS)
        self.to_ems: list[list[tuple[int, str]]] = []
        self.runner = Runner(self.core, self.journal, {"BRK": self.venue}, {"EMS1": codec}, self._ems_send)  # type: ignore[dict-item]

    def _ems_send(self, _session: str, fields: list[tuple[int, str]]) -> bool:
        self.to_ems.append(fields)
        return True

    def submit(self, cl_ord_id: str, qty: str = "100") -> None:
        """An order for the broker; with qty "0" one the EMS codec refuses (a rejected ExecutionReport)."""
        fields = [(35, "D"), (11, cl_ord_id), (1, "ACC1"), (55, "AAPL"), (54, "1"), (38, qty), (40, "2"),
                  (44, "10.00"), (59, "0"), (60, "20310314-15:09:26.000")]
        self.runner.submit_ems("EMS1", fields, datetime.now(UTC))

    def close(self) -> None:
        self.runner.stop()
        self.journal.close()


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    built = Stack(tmp_path)
    built.runner.start()
    yield built
    built.close()


def rejects(stack: Stack) -> list[str]:
    """ClOrdIDs of the rejected ExecutionReports the EMS got, in the order it got them."""
    return [dict(fields)[11] for fields in stack.to_ems if dict(fields).get(39) == "8"]


def test_every_order_leaves_only_after_its_commit_and_in_order(stack: Stack) -> None:
    for n in range(300):
        stack.submit(f"C{n}", "100" if n % 3 else "0")
    assert stack.runner.drain(20)
    assert stack.venue.sent == [f"C{n}" for n in range(300) if n % 3] and all(stack.venue.durable_when_sent)
    assert rejects(stack) == [f"C{n}" for n in range(300) if not n % 3]
    journaled = [dict(field.split("=", 1) for field in m.raw.strip("\x01").split("\x01"))["11"]
                 for m in stack.journal.iter_messages(session="EMS1", direction="out")]
    assert journaled == rejects(stack)  # every reply journaled (same order)


def test_work_that_queued_behind_a_slow_commit_shares_one_commit(stack: Stack) -> None:
    stack.submit("FIRST")
    assert stack.runner.drain(10)
    stack.journal.gate.clear()               # the disk stalls while the next pass commits
    stack.submit("SLOW")
    assert wait_until(lambda: stack.runner._queue.empty())  # the router took it and waits on the commit
    for n in range(20):
        stack.submit(f"Q{n}")
    stack.submit("BAD", "0")
    assert stack.venue.sent == ["FIRST"] and stack.to_ems == []   # nothing left while not durable
    commits_before = stack.journal.commits
    stack.journal.gate.set()
    assert stack.runner.drain(10)
    assert stack.venue.sent == ["FIRST", "SLOW"] + [f"Q{n}" for n in range(20)]
    assert all(stack.venue.durable_when_sent) and rejects(stack) == ["BAD"]
    assert stack.journal.commits - commits_before <= 3  # SLOW's, then the 21 queued behind it together


def test_a_journal_outage_holds_every_send_until_the_retry_succeeds(stack: Stack) -> None:
    stack.journal.failures = 3
    for n in range(5):
        stack.submit(f"O{n}")
    stack.submit("O-BAD", "0")
    assert wait_until(lambda: stack.runner.journal_errors >= 1)
    assert stack.venue.sent == [] and stack.to_ems == []
    assert stack.runner.drain(20)                        # retried with backoff: 50 + 100 + 200 ms
    assert stack.runner.journal_errors == 3
    assert stack.venue.sent == [f"O{n}" for n in range(5)] and all(stack.venue.durable_when_sent)
    assert rejects(stack) == ["O-BAD"]




def test_a_copy_the_router_thread_made_of_its_own_send_is_journaled_by_itself(stack: Stack) -> None:
    """Taps on the router thread skip the queue: the next pass journals them, with nothing else to wake it."""
    stack.venue.tap = stack.runner.tap
    stack.submit("T1")
    assert stack.runner.drain(10)

    def copies() -> list[str]:
        return [m.raw for m in stack.journal.iter_messages(session="BRK", direction="out")]

    assert wait_until(lambda: len(copies()) == 1, 10, "the broker's copy of T1 journaled")
    assert copies()[0].startswith("35=D\x0111=") and stack.runner._own_taps == []


def test_an_ems_message_is_journaled_as_quickfix_gave_it_and_a_credential_in_it_masked(stack: Stack) -> None:
    text = "8=FIX.4.4\x019=40\x0135=D\x0134=7\x0111=W1\x011=ACC1\x0155=AAPL\x0154=1\x0138=100\x0140=1\x0110=000\x01"
    fields = [tuple(field.split("=", 1)) for field in text.strip("\x01").split("\x01")]
    parsed = [(int(tag), value) for tag, value in fields]
    stack.runner.submit_ems("EMS1", parsed, datetime.now(UTC), text)
    secret = text.replace("\x0111=W1", "\x0111=W2\x01554=hunter2")
    stack.runner.submit_ems("EMS1", [(35, "D"), (11, "W2"), (554, "hunter2")], datetime.now(UTC), secret)
    assert stack.runner.drain(10)
    raws = [m.raw for m in stack.journal.iter_messages(session="EMS1", direction="in")]
    assert raws[0] == text                                     # QuickFIX's own text, 8, 9 and 10 included
    assert "hunter2" not in raws[1] and "554=***" in raws[1]     # never the text when something is masked
