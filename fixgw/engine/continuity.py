"""FIX session continuity across HA nodes: what every session sends is recorded in PostgreSQL (SessionRecorder,
fed by the QuickFIX log), and a node taking over rebuilds its local FileStores from it (SessionContinuity).

Why local FileStores rebuilt at takeover, not a message store backed by the journal: QuickFIX's Python wrapper
cannot take a MessageStore written in Python (DESIGN.md section 5), and a C++ one would be a database round trip
on QuickFIX's send path for every message. The log callback we already have sees every outgoing message with its
final MsgSeqNum just before it is written to the socket; those are recorded off the send path, in batches. What
the old active sent but had not recorded yet is covered by `sequence_gap`: the new active numbers on from the
last recorded MsgSeqNum + 1 + gap, so no number is ever used twice (the counterparty asks for the gap and gets a
gap fill; reports to an EMS that may be lost in it are sent again by the journal replay, PossResend=Y).
Inbound, the next expected MsgSeqNum is the last journaled one + 1: anything later is asked for again.
"""

from __future__ import annotations

import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import quickfix as qf
import structlog

from fixgw.model.orders import utc_day_start, utc_now
from fixgw.store.jobruns import JobClaims
from fixgw.store.journal import Journal
from fixgw.store.records import FencedError, JournalError
from fixgw.store.sessionledger import SentMessage, SessionLedger

log = structlog.get_logger("fixgw.ha.sessions")

SESSION_LEVEL = frozenset({"0", "1", "2", "3", "4", "5", "A"})
"""Heartbeat, TestRequest, ResendRequest, Reject, SequenceReset, Logout, Logon: answered by a gap fill on resend."""
_SEQ = re.compile(r"\x0134=(\d+)\x01")
_TYPE = re.compile(r"\x0135=([^\x01]*)\x01")
_POSS_DUP = "\x0143=Y\x01"
FLUSH_SECONDS = 0.02
PURGE_EVERY_SECONDS = 3600.0


def ledger_key(role: str, name: str) -> str:
    """The session's key in the ledger: its role (acceptor, initiator, dropcopy) and configured name."""
    return f"{role}:{name}"


class SessionRecorder:
    """Takes outgoing messages from QuickFIX's threads (`outgoing`, no I/O) and records them on a thread of its own.
    A FencedError from the ledger calls `on_fenced` and records nothing more."""

    def __init__(self, ledger: SessionLedger, on_fenced: Callable[[str], None] | None = None,
                 may_send: Callable[[], bool] | None = None) -> None:
        self.ledger = ledger
        self.on_fenced = on_fenced
        self.may_send = may_send
        """Checked once more just before each message meets the socket (QuickFIX calls the log first): a node
        that woke up past its lease fences itself here, whatever the message (a heartbeat due while paused)."""
        self._queue: queue.SimpleQueue[SentMessage | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self.recorded = 0
        self.failures = 0
        self._purged_at = time.monotonic()

    def outgoing(self, role: str, name: str, text: str) -> None:
        if self.may_send is not None and not self.may_send() and self.on_fenced is not None:
            self.on_fenced("a message was about to leave after the lease ran out")
        seq = _SEQ.search(text)
        msg_type = _TYPE.search(text)
        if seq is None or msg_type is None:
            return
        kind = msg_type.group(1)
        # A resend (PossDup) re-uses an old number: its original is recorded already.
        if _POSS_DUP in text and kind not in SESSION_LEVEL:
            return
        with self._idle:
            self._pending += 1
        self._queue.put(SentMessage(ledger_key(role, name), int(seq.group(1)), kind, utc_now(),
                                    "" if kind in SESSION_LEVEL else text))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fixgw-ha-recorder", daemon=True)
        self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed in so far is recorded (step-down, tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    item = self._queue.get(timeout=FLUSH_SECONDS) if len(batch) < 2 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._write(batch)
                    return
                batch.append(item)
                if len(batch) >= 1000:
                    break
            self._write(batch)

    def _write(self, batch: list[SentMessage]) -> None:
        delay = 0.05
        while True:
            try:
                self.ledger.record(batch)
                self.recorded += len(batch)
                self._purge_now_and_then()
                break
            except FencedError as exc:
                if self.on_fenced is not None:
                    self.on_fenced(str(exc))
                break
            except JournalError as exc:
                self.failures += 1
                log.error("ha.record_failed", messages=len(batch), error=str(exc).splitlines()[0], retry_in=delay)
                threading.Event().wait(delay)
                delay = min(delay * 2, 2.0)
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()


    def _purge_now_and_then(self) -> None:
        """An active that runs for weeks keeps only yesterday's and today's sent messages (hourly check)."""
        if time.monotonic() - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = time.monotonic()
        try:
            self.ledger.purge_before(utc_day_start(utc_now()) - timedelta(days=1))
        except JournalError as exc:
            log.error("ha.purge_failed", error=str(exc).splitlines()[0])


class SessionContinuity:
    """Takeover of the FIX sessions on this node, before QuickFIX opens any store: this node's own stores are
    stale (an earlier turn as active, or another FIX day), so each is written anew from PostgreSQL - resend
    material, next sender and target numbers, today's creation time - in QuickFIX's FileStore format."""

    def __init__(self, ledger: SessionLedger, journal: Journal, sequence_gap: int) -> None:
        self.ledger = ledger
        self.journal = journal
        self.sequence_gap = sequence_gap
        self.resumed: dict[str, tuple[int | None, int | None, int]] = {}
        """ledger key -> (next sender MsgSeqNum, next target, messages stored): for status and tests."""

    def rebuild(self, folder: Path, role: str, sessions: Iterable[tuple[str, qf.SessionID]],
                now: datetime | None = None) -> None:
        """Empty `folder`, then write the store of each (name, SessionID) that has a history today."""
        if folder.is_dir():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        now = now or utc_now()
        since = utc_day_start(now)
        for name, sid in sessions:
            key = ledger_key(role, name)
            point = self.ledger.resume_point(key, since)
            last_in = self.journal.last_seq_num(name, "in", since=since)
            if point is None and last_in is None:
                self.resumed[key] = (None, None, 0)
                continue  # nothing today: QuickFIX starts the day's store itself
            # Numbered past anything the old active may have sent unrecorded: a gap the peer asks for, never a
            # number used twice. Inbound from the last journaled + 1: the peer sends the rest again.
            sender = (point.last_seq_num if point is not None else 0) + 1 + self.sequence_gap
            target = (last_in or 0) + 1
            messages = point.messages if point is not None else []
            write_file_store(folder, sid, messages, sender, target, now)
            self.resumed[key] = (sender, target, len(messages))
            log.warning("ha.session_resumed", session=key, next_sender_seq_num=sender, next_target_seq_num=target,
                        messages_stored=len(messages))


def write_file_store(folder: Path, sid: qf.SessionID, messages: list[tuple[int, str]], next_sender: int,
                     next_target: int, created: datetime) -> None:
    """One session's QuickFIX FileStore: .body (the messages), .header ("seq,offset,size " each), .seqnums,
    .session (creation time). QuickFIX reads these when the session is created."""
    prefix = f"{sid.getBeginString().getValue()}-{sid.getSenderCompID().getValue()}-{sid.getTargetCompID().getValue()}"
    qualifier = sid.getSessionQualifier()
    if qualifier:
        prefix += f"-{qualifier}"
    body = bytearray()
    header = []
    for seq_num, text in messages:
        data = text.encode("utf-8", errors="surrogateescape")  # the bytes QuickFIX sent (its BodyLength counts them)
        header.append(f"{seq_num},{len(body)},{len(data)} ")
        body += data
    (folder / f"{prefix}.body").write_bytes(bytes(body))
    (folder / f"{prefix}.header").write_text("".join(header), encoding="ascii")
    (folder / f"{prefix}.seqnums").write_text(f"{next_sender:020d} : {next_target:020d}", encoding="ascii")
    (folder / f"{prefix}.session").write_text(created.strftime("%Y%m%d-%H:%M:%S"), encoding="ascii")


class HaHooks:
    """What the gateway calls at the few points where HA changes its start (fixgw/engine/gateway.py)."""

    def __init__(self, continuity: SessionContinuity, recorder: SessionRecorder, may_send: Callable[[], bool],
                 on_fenced: Callable[[str], None], jobs: JobClaims | None = None) -> None:
        self.continuity = continuity
        self.recorder = recorder
        self.may_send = may_send
        self.on_fenced = on_fenced
        self.jobs = jobs
        """Claims of scheduled jobs (recon, drift, margin snapshots): each fire time runs once, whoever is active."""

    def before_engines(self, quickfix_dir: Path, ems: Iterable[tuple[str, qf.SessionID]],
                       brokers: Iterable[tuple[str, qf.SessionID]],
                       dropcopy: Iterable[tuple[str, qf.SessionID]] = ()) -> None:
        """Before QuickFIX opens any store: write this node's stores from PostgreSQL, start recording what is
        sent."""
        self.continuity.rebuild(quickfix_dir / "ems-store", "acceptor", ems)
        self.continuity.rebuild(quickfix_dir / "broker-store", "initiator", brokers)
        self.continuity.rebuild(quickfix_dir / "dropcopy-store", "dropcopy", dropcopy)
        # Yesterday's material is kept a day for inspection, then goes: no session resumes from it.
        self.continuity.ledger.purge_before(utc_day_start(utc_now()) - timedelta(days=1))
        if self.jobs is not None:  # older than any catch-up looks back (recon.catch_up_hours <= 7 days)
            self.jobs.purge_before(utc_now() - timedelta(days=8))
        self.recorder.start()

    def gate(self, *applications: object) -> None:
        for application in applications:
            if application is not None:
                application.send_gate = self.may_send  # type: ignore[attr-defined]
