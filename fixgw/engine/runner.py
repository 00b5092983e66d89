"""The router's owner thread: drains a queue of inbound work, runs the router core, journals, then sends.

One pass = everything queued so far (up to `max_batch` items). Its journal rows are written in one
transaction (group commit) and only after that commit are commands sent to venues and reports to EMS
sessions - persist before send, with the fsync cost shared by the whole batch.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from fixgw.engine.copyhook import CopyHook
from fixgw.engine.heap import freeze_survivors
from fixgw.engine.observe import Origin, PassObserver, PassRecord
from fixgw.engine.translator import SessionTranslator
from fixgw.fix.wire import SOH, render_fix
from fixgw.model.errors import MessageRejected
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    utc_now,
)
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects
from fixgw.security.masking import mask_secret_fields
from fixgw.store.journal import EventRecord, Journal, JournalBatch, MessageRecord, VenueWireRecord
from fixgw.store.records import FencedError
from fixgw.venues.base import Venue

log = structlog.get_logger("fixgw.engine.runner")

SENT_MARK_PREFIX = "ems_sent_through:"
"""Journal state key: reports to that EMS session journaled up to this time were handed to QuickFIX."""
EmsSend = Callable[[str, list[tuple[int, str]]], bool]
TICK_SECONDS = 1.0
EXEC_ID_MEMORY = 100_000
"""How many ExecIDs of reports sent to EMS sessions are remembered to attach an EMS's business reject to its order."""
RAW_LINGER_SECONDS = 0.005
_COPY_KINDS = ("raw", "wire")
"""Items nobody waits on (copies of FIX messages, REST venue exchanges): they share the next pass's commit."""


@dataclass(slots=True)
class _Item:
    kind: str
    args: tuple[Any, ...]
    at: float = field(default_factory=time.perf_counter)


class Runner:
    def __init__(self, core: RouterCore, journal: Journal, venues: Mapping[str, Venue],
                 ems_translators: Mapping[str, SessionTranslator], ems_send: EmsSend, *, max_batch: int = 512) -> None:
        self.core = core
        self.journal = journal
        self.venues = venues
        self.ems_translators = ems_translators
        self.ems_send = ems_send
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._last_tick = 0.0
        self._sent_marks: dict[str, datetime] = {}
        self._mark_held: set[str] = set()
        """EMS sessions a report could not be handed to: their 'sent through' mark stays where it was."""
        self._reported: OrderedDict[str, str] = OrderedDict()
        """ExecID of a recent report to an EMS -> its order id (an EMS's 35=j names the report it refuses)."""
        self._pass_markers: list[threading.Event] = []
        self._thread_ident: int | None = None
        self._own_taps: list[_Item] = []
        """Taps made on this thread (a broker's copy of a command this thread just sent): the next pass journals
        them, without a trip through the queue and a wake-up of this thread."""
        self.passes = 0
        self.journal_errors = 0
        self.observer: PassObserver | None = None
        """Metrics hook, called on this thread after each pass that journaled something."""
        self.dropcopy: CopyHook | None = None
        """Drop-copy/archive hook: sees each item's reports, adds copy rows to the pass, sends them after it."""
        self.on_fenced: Callable[[str], None] | None = None
        """HA: called (once, then the loop ends) when a journal write was refused because another node is active."""
        self.heartbeat = time.monotonic()
        """When the loop last turned (the systemd watchdog pings only while this is fresh)."""

    # ------------------------------------------------------------------ thread-safe entry points

    def submit_ems(self, session: str, fields: list[tuple[int, str]], at: datetime, text: str | None = None) -> None:
        """An EMS's application message; `text`: QuickFIX's text of it (journaled as is, not rendered again)."""
        self._queue.put(_Item("ems", (session, fields, at, text)))

    def ems_session_changed(self, session: str, logged_on: bool) -> None:
        self._queue.put(_Item("ems_session", (session, logged_on)))

    def tap(self, session: str, direction: str, msg_type: str, fields: list[tuple[int, str]],
            text: str | None = None) -> None:
        item = _Item("raw", (session, direction, msg_type, fields, utc_now(), text))
        if threading.get_ident() == self._thread_ident:
            self._own_taps.append(item)
        else:
            self._queue.put(item)

    def wire(self, record: VenueWireRecord) -> None:
        """A REST venue's request and answer (masked) for the wire archive: journaled with the next pass."""
        self._queue.put(_Item("wire", (record,)))

    def replay_now(self, session: str, messages: list[list[tuple[int, str]]]) -> None:
        """Reports journaled before a crash but never handed to QuickFIX: handed to it (PossResend=Y) ahead of
        anything queued after this call, so the EMS never gets them after a newer state of their orders."""
        def replay(_core: RouterCore, _fx: Effects) -> None:
            for fields in messages:
                if not self.ems_send(session, fields):
                    log.error("ems.replay_failed", session=session, msg_type=fields[0][1])

        if messages:
            self._queue.put(_Item("call", (replay,)))

    def call(self, function: Callable[[RouterCore, Effects], object]) -> None:
        """Run `function(core, effects)` on the owner thread (operator actions, reloads)."""
        self._queue.put(_Item("call", (function,)))

    # VenueListener
    def on_execution(self, venue: str, event: ExecutionEvent) -> None:
        self._queue.put(_Item("venue_execution", (venue, event)))

    def on_cancel_reject(self, venue: str, event: CancelRejectEvent) -> None:
        self._queue.put(_Item("venue_cancel_reject", (venue, event)))

    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None:
        self._queue.put(_Item("venue_unknown", (venue, cl_ord_id, command, reason)))

    def on_connectivity(self, venue: str, connected: bool) -> None:
        self._queue.put(_Item("venue_connectivity", (venue, connected)))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fixgw-router", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._queue.put(_Item("stop", ()))
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued before this call has been processed, journaled and sent (tests,
        shutdown): the pass that runs this call sets it after its sends."""
        done = threading.Event()
        self.call(lambda _core, _fx: self._pass_markers.append(done))
        return done.wait(timeout)

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        self._thread_ident = threading.get_ident()
        while not self._stopping.is_set():
            self.heartbeat = time.monotonic()
            items, self._own_taps = self._own_taps, []
            if not items:
                with contextlib.suppress(queue.Empty):
                    items.append(self._queue.get(timeout=TICK_SECONDS))
            while len(items) < self.max_batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if items and all(item.kind in _COPY_KINDS for item in items):
                self._linger(items)
            try:
                self._pass(items)
            except FencedError as exc:  # HA: another node is active; nothing of this pass was written or sent
                log.critical("router.fenced", error=str(exc))
                if self.on_fenced is not None:
                    self.on_fenced(str(exc))
                return
            except Exception as exc:  # the loop must outlive any one bad pass
                log.exception("router.pass_failed", error=repr(exc))
            finally:
                markers, self._pass_markers = self._pass_markers, []
                for marker in markers:
                    marker.set()
        if self._own_taps:  # copies of the last pass's sends
            try:
                self._pass(self._own_taps)
            except Exception as exc:
                log.exception("router.pass_failed", error=repr(exc))

    def _linger(self, items: list[_Item]) -> None:
        """Only copies of messages (a broker's taps) so far: nobody waits on them, so let them share the commit of
        the work that follows within a few ms (the report behind an inbound tap, the fill after an order went
        out) instead of an fsync of their own."""
        deadline = time.monotonic() + RAW_LINGER_SECONDS
        with contextlib.suppress(queue.Empty):
            while len(items) < self.max_batch and items[-1].kind in _COPY_KINDS:
                items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))

    def _pass(self, items: list[_Item]) -> None:
        fx = self.core.effects()
        observer = self.observer
        origins: list[Origin] = []
        messages: list[MessageRecord] = []
        wire: list[VenueWireRecord] = []
        replies: list[tuple[str, list[tuple[int, str]], str | None]] = []
        copies = self.dropcopy.pass_copies() if self.dropcopy is not None else None
        for item in items:
            if item.kind == "stop":
                continue
            if item.kind == "wire":
                wire.append(item.args[0])
                continue
            try:
                self._handle(item, fx, messages, replies)
                if observer is not None:
                    origins.append((item.kind, item.at, len(fx.to_venue), len(fx.to_ems)))
            except Exception as exc:
                log.exception("router.item_failed", kind=item.kind, error=repr(exc))
                if item.kind.startswith("venue_") and self.core.observer is not None:
                    self.core.observer.on_venue_error(item.args[0], repr(exc))  # circuit breakers count these
            if copies is not None:
                copies.after_item(item.kind, item.args, fx, replies)
        now = time.monotonic()
        if now - self._last_tick >= TICK_SECONDS:
            self._last_tick = now
            freeze_survivors()  # the day's orders stay out of full collections (fixgw/engine/heap.py)
            self.core.on_tick(utc_now(), fx)
            # Mark what has certainly been handed to QuickFIX (stored for FIX resend) by now.
            for session, at in self._sent_marks.items():
                fx.state[f"{SENT_MARK_PREFIX}{session}"] = at.isoformat()
            self._sent_marks.clear()
        outbound = self._encode_reports(fx, replies, messages)
        if copies is not None:
            messages.extend(copies.records(fx, messages))
        if fx.is_empty() and not messages and not wire:
            return
        journal_started = time.perf_counter()
        self._journal(fx, messages, wire)
        journal_done = time.perf_counter()
        for venue_name, command, order_id in fx.to_venue:
            self._send_to_venue(venue_name, command, order_id)
        venue_sent = time.perf_counter()
        for session, fields in outbound:
            if not self.ems_send(session, fields):
                self._mark_held.add(session)  # journaled, never handed: the next start must replay it
                log.warning("ems.send_failed", session=session, msg_type=fields[0][1])
        if copies is not None:
            copies.send()
        if observer is not None:
            try:
                observer.on_pass(PassRecord(fx, messages, origins, len(items), journal_started, journal_done,
                                            venue_sent, time.perf_counter()))
            except Exception as exc:  # metrics must never stop the router
                log.exception("router.observer_failed", error=repr(exc))
        sent_at = utc_now()
        for session, _fields in outbound:
            if session not in self._mark_held:
                self._sent_marks[session] = sent_at
        self.passes += 1

    def _handle(self, item: _Item, fx: Effects, messages: list[MessageRecord],
                replies: list[tuple[str, list[tuple[int, str]], str | None]]) -> None:
        kind, args = item.kind, item.args
        if kind == "ems":
            session, fields, at, text = args
            self._on_ems_message(session, fields, at, fx, messages, replies, text)
        elif kind == "raw":
            session, direction, msg_type, fields, at, text = args
            messages.append(_record(session, direction, msg_type, fields, at, text))
        elif kind == "venue_execution":
            self.core.on_venue_execution(args[0], args[1], fx)
        elif kind == "venue_cancel_reject":
            self.core.on_venue_cancel_reject(args[0], args[1], fx)
        elif kind == "venue_unknown":
            self.core.on_venue_outcome_unknown(args[0], args[1], args[2], args[3], fx)
        elif kind == "venue_refused":
            self.core.on_venue_refused(args[0], args[1], args[2], args[3], fx)
        elif kind == "venue_connectivity":
            if args[1]:
                self.core.on_venue_connected(args[0], fx)
        elif kind == "ems_session":
            if not args[1]:
                self.core.on_ems_logout(args[0], fx)
        elif kind == "call":
            args[0](self.core, fx)

    def _on_ems_message(self, session: str, fields: list[tuple[int, str]], at: datetime, fx: Effects,
                        messages: list[MessageRecord],
                        replies: list[tuple[str, list[tuple[int, str]], str | None]], text: str | None = None) -> None:
        msg_type = next((value for tag, value in fields if tag == 35), "")
        messages.append(_record(session, "in", msg_type, fields, at, text))
        if msg_type == "j":  # the EMS refuses one of our reports: on record, never answered with a reject of ours
            values = dict(fields)
            ref_id = values.get(379, "")
            self.core.on_ems_business_reject(session, ref_id, self._reported.get(ref_id), values, fx)
            return
        if msg_type in ("D", "F", "G") and _is_poss_dup(fields):
            cl_ord_id = next((value for tag, value in fields if tag == 11), "")
            if self.core.book.has_ems_cl_ord_id(session, cl_ord_id):
                log.info("ems.possdup_ignored", session=session, cl_ord_id=cl_ord_id, msg_type=msg_type)
                return
        translator = self.ems_translators[session]
        try:
            command = translator.decode_ems(fields)
        except MessageRejected as exc:
            log.info("ems.message_rejected", session=session, msg_type=msg_type, kind=exc.kind,
                     ref_tag_id=exc.ref_tag_id, text=exc.text)
            replies.append((session, translator.reject_reply(exc, fields), None))
            return
        if isinstance(command, NewOrder):
            self.core.on_new_order(session, command, fx)
        elif isinstance(command, CancelOrder):
            self.core.on_cancel(session, command, fx)
        elif isinstance(command, ReplaceOrder):
            self.core.on_replace(session, command, fx)
        elif isinstance(command, StatusRequest):
            self.core.on_status_request(session, command, fx)

    def _encode_reports(self, fx: Effects, replies: list[tuple[str, list[tuple[int, str]], str | None]],
                        messages: list[MessageRecord]) -> list[tuple[str, list[tuple[int, str]]]]:
        outbound: list[tuple[str, list[tuple[int, str]]]] = []
        for session, report, order_id in fx.to_ems:
            translator = self.ems_translators.get(session)
            if translator is None:
                log.error("ems.unknown_session", session=session)
                continue
            fields = translator.encode_report(report)
            if order_id is not None and isinstance(report, ExecutionEvent):
                self._reported[report.exec_id] = order_id
                if len(self._reported) > EXEC_ID_MEMORY:
                    self._reported.popitem(last=False)
            record = _record(session, "out", fields[0][1], fields, utc_now())
            record.order_id = order_id
            record.cl_ord_id = report.cl_ord_id
            messages.append(record)
            outbound.append((session, fields))
        for session, fields, order_id in replies:
            record = _record(session, "out", fields[0][1], fields, utc_now())
            record.order_id = order_id
            messages.append(record)
            outbound.append((session, fields))
        return outbound

    def _journal(self, fx: Effects, messages: list[MessageRecord], wire: list[VenueWireRecord]) -> None:
        batch = JournalBatch(
            orders=fx.orders,
            events=[EventRecord(e.order_id, e.event, e.status, e.at, e.detail) for e in fx.events],
            fills=fx.fills,
            messages=messages,
            state=fx.state,
            venue_wire=wire,
        )
        delay = 0.05
        while True:
            try:
                self.journal.write(batch)
                return
            except FencedError:
                raise  # never retried: it can only fail again
            except Exception as exc:
                # Nothing of this pass may leave before it is durable: hold the line and retry.
                self.journal_errors += 1
                log.critical("journal.write_failed", error=repr(exc), retry_in=delay)
                if self._stopping.is_set():
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _send_to_venue(self, venue_name: str, command: object, order_id: str) -> None:
        venue = self.venues.get(venue_name)
        if venue is None:
            log.error("venue.unknown", venue=venue_name, order_id=order_id)
            return
        try:
            if isinstance(command, NewOrder):
                venue.send_new(command)
            elif isinstance(command, CancelOrder):
                venue.send_cancel(command)
            elif isinstance(command, ReplaceOrder):
                venue.send_replace(command)
            elif isinstance(command, StatusRequest):
                venue.send_status_request(command)
            elif isinstance(command, MassStatusRequest):
                venue.send_mass_status_request(command)
        except MessageRejected as exc:
            # Raised while encoding (the venue's dialect cannot carry it): certain, and nothing left.
            self._queue.put(_Item("venue_refused", (venue_name, order_id, type(command).__name__, exc.text)))
        except Exception as exc:
            log.exception("venue.send_failed", venue=venue_name, order_id=order_id, error=repr(exc))
            cl_ord_id = getattr(command, "cl_ord_id", "")
            self.on_outcome_unknown(venue_name, cl_ord_id, type(command).__name__, repr(exc))


def _is_poss_dup(fields: list[tuple[int, str]]) -> bool:
    """PossDupFlag(43)=Y: a FIX resend of a message we may already have processed."""
    return any(tag == 43 and value == "Y" for tag, value in fields)


def _record(session: str, direction: str, msg_type: str, fields: list[tuple[int, str]],
            at: datetime, text: str | None = None) -> MessageRecord:
    """`text`: QuickFIX's text of `fields` (a received message), kept as it came unless a credential is masked."""
    seq = next((value for tag, value in fields if tag == 34), None)
    masked = mask_secret_fields(fields)  # no passwords at rest
    return MessageRecord(session=session, direction=direction, msg_type=msg_type,
                         raw=text if text is not None and masked is fields else render_fix(masked, SOH), at=at,
                         seq_num=int(seq) if seq is not None and seq.isdigit() else None)
