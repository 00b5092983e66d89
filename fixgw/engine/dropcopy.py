"""Drop-copy acceptor sessions: QuickFIX glue that sends journaled copy rows to compliance clients.

An acceptor of its own (`[dropcopy.<name>]` host/port; sessions on the same port share its socket) with a
FileStore per session under `<state_dir>/quickfix/dropcopy-store`:
- a client that is logged out misses nothing: QuickFIX stores each copy sent while it is away and resends
  it (PossDupFlag=Y) when the client's next Logon reveals the gap;
- a client that logs on with ResetSeqNumFlag(141)=Y (a fresh start: both stores reset) gets today's copies
  (UTC day) replayed from the journal with PossResend(97)=Y, in journal order, before any new copy.
Drop-copy clients only receive: an application message from them is answered with a BusinessMessageReject.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import quickfix as qf
import structlog

from fixgw.config import GatewayConfig
from fixgw.dropcopy.copies import COPY_BEGIN_STRING, COPY_DIALECT, DROPCOPY_SESSION, CopyBuilder, CopyFilter
from fixgw.dropcopy.feed import DropCopyFeed
from fixgw.dropcopy.settings import DropCopySessionConfig
from fixgw.engine.qflog import OutgoingRecorder, StructlogLogFactory
from fixgw.engine.quickfix_support import (
    QuietApplication,
    build_session_settings,
    ensure_new_sessions,
    fields_to_message,
    guard_callback,
    keep_alive,
)
from fixgw.engine.sessions import _session_defaults, _text
from fixgw.fix.codec import Codec
from fixgw.fix.dialect import load_dialect
from fixgw.fix.fields import Fields
from fixgw.fix.wire import parse_fix
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import utc_day_start, utc_now
from fixgw.router.book import OrderBook
from fixgw.store.journal import Journal
from fixgw.store.records import MessageRecord

log = structlog.get_logger("fixgw.engine.dropcopy")


def build_feed(config: GatewayConfig, book: OrderBook, symbols: SymbolMaster,
               journal: Journal) -> tuple[DropCopyFeed, DropCopyAcceptor | None]:
    """The router hook, and the acceptor when drop-copy sessions are configured (not started yet)."""
    if not config.dropcopy:
        return DropCopyFeed(book, None, None), None
    codec = Codec(load_dialect(config.dialect_path(COPY_DIALECT)), symbols, COPY_BEGIN_STRING)
    acceptor = DropCopyAcceptor(config, journal)
    return DropCopyFeed(book, CopyBuilder(codec), acceptor), acceptor


@dataclass
class _Session:
    name: str
    config: DropCopySessionConfig
    session_id: qf.SessionID
    filter: CopyFilter
    lock: threading.Lock = field(default_factory=threading.Lock)
    replay_until: datetime | None = None
    """Set while today's copies are replayed: live copies wait in `held` (those journaled later than this)."""
    held: list[MessageRecord] = field(default_factory=list)


class DropCopyAcceptor:
    def __init__(self, config: GatewayConfig, journal: Journal) -> None:
        self.journal = journal
        self.state_dir = config.state_dir / "quickfix"
        self._sessions: dict[str, _Session] = {}
        for name, section in config.dropcopy.items():
            sid = qf.SessionID(section.begin_string, section.sender_comp_id, section.target_comp_id)
            self._sessions[sid.toString()] = _Session(name, section, sid, CopyFilter(
                frozenset(section.accounts), frozenset(section.venues)))
        self._application = _DropCopyApplication(self)
        self._acceptor: qf.ThreadedSocketAcceptor | None = None
        self._debug_messages = config.log.level == "DEBUG"
        self._logon_timeout_s = config.acceptor.logon_timeout_s
        self.logged_on: set[str] = set()
        self._replays: list[threading.Thread] = []
        self.recorder: OutgoingRecorder | None = None
        """HA: records what the drop-copy sessions send (fixgw/engine/continuity.py), set before start."""

    def start(self) -> None:
        Path(self.state_dir / "dropcopy-store").mkdir(parents=True, exist_ok=True)
        settings = self._settings()
        ensure_new_sessions(settings)
        # Not QuickFIX's FileLog: it would write a client's Logon credentials in clear (fixgw/engine/qflog.py).
        names = {key: state.name for key, state in self._sessions.items()}
        log_factory = StructlogLogFactory("dropcopy", names, messages=self._debug_messages, recorder=self.recorder)
        store = qf.FileStoreFactory(settings)
        self._acceptor = keep_alive(qf.ThreadedSocketAcceptor(self._application, store, settings, log_factory),
                                    self._application, store, log_factory)
        self._acceptor.start()
        log.info("dropcopy.started", sessions=sorted(s.name for s in self._sessions.values()))

    def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.stop()
            self._acceptor = None  # destroyed: QuickFIX releases the sessions
        for thread in self._replays:
            thread.join(5.0)

    def _settings(self) -> qf.SessionSettings:
        default = {"ConnectionType": "acceptor", "FileStorePath": str(self.state_dir / "dropcopy-store"),
                   "SocketReuseAddress": "Y", "LogonTimeout": str(self._logon_timeout_s)}
        sessions = []
        for state in self._sessions.values():
            section = state.config
            sessions.append({
                **_session_defaults(section.begin_string),
                "SocketAcceptHost": section.host,
                "SocketAcceptPort": str(section.port),
                **_text(section.quickfix),
                "BeginString": section.begin_string,
                "SenderCompID": section.sender_comp_id,
                "TargetCompID": section.target_comp_id,
            })
        return build_session_settings(default, sessions)

    # ------------------------------------------------------------------ live copies (router thread)

    def deliver(self, copies: Sequence[MessageRecord]) -> None:
        parsed = [(record, parse_fix(record.raw)) for record in copies]
        for state in self._sessions.values():
            with state.lock:
                for record, fields in parsed:
                    if not state.filter.matches(fields):
                        continue
                    if state.replay_until is not None:
                        state.held.append(record)
                    else:
                        self._send(state, fields)

    def _send(self, state: _Session, fields: Fields) -> bool:
        try:
            message = fields_to_message(fields, begin_string=state.config.begin_string)
            # Logged out: QuickFIX stores the copy (and its sequence number) for the client's resend request.
            return bool(qf.Session.sendToTarget(message, state.session_id))
        except qf.SessionNotFound:
            return False
        except Exception as exc:  # one bad copy must not stop the others
            log.error("dropcopy.send_failed", session=state.name, error=repr(exc))
            return False

    # ------------------------------------------------------------------ replay (own thread)

    def _reset_requested(self, state: _Session) -> None:
        """The client's Logon asked for a sequence reset (QuickFIX thread): hold live copies until replayed."""
        if state.config.replay_on_reset:
            # No lock here: never wait on the router thread from a QuickFIX callback (an attribute store is atomic).
            state.replay_until = utc_now()

    def _logged_on(self, state: _Session) -> None:
        self.logged_on.add(state.name)
        log.info("dropcopy.logon", session=state.name)
        until = state.replay_until
        if until is not None:
            thread = threading.Thread(target=self._replay, args=(state, until), name=f"dropcopy-replay-{state.name}",
                                      daemon=True)
            self._replays = [t for t in self._replays if t.is_alive()] + [thread]
            thread.start()

    def _replay(self, state: _Session, until: datetime) -> None:
        since = utc_day_start(until)
        sent = 0
        try:
            for record in self.journal.iter_messages(session=DROPCOPY_SESSION, since=since, until=until):
                fields = parse_fix(record.raw)
                if state.filter.matches(fields):
                    self._send(state, [*fields, (97, "Y")])
                    sent += 1
        except Exception as exc:
            log.exception("dropcopy.replay_failed", session=state.name, error=repr(exc))
        while True:
            with state.lock:
                held, state.held = state.held, []
                if not held:
                    state.replay_until = None
                    break
                for record in held:
                    if record.at >= until:  # older ones were in the replay
                        self._send(state, parse_fix(record.raw))
        log.info("dropcopy.replayed", session=state.name, copies=sent, since=since.isoformat(),
                 until=until.isoformat())

    def session(self, session_id: qf.SessionID) -> _Session | None:
        return self._sessions.get(session_id.toString())

    def session_id_of(self, name: str) -> qf.SessionID | None:
        return next((state.session_id for state in self._sessions.values() if state.name == name), None)


class _DropCopyApplication(QuietApplication):
    def __init__(self, owner: DropCopyAcceptor) -> None:
        super().__init__()
        self._owner = owner

    def _with_session(self, session_id: qf.SessionID, action: Callable[[_Session], None]) -> None:
        state = self._owner.session(session_id)
        if state is not None:
            action(state)

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        self._with_session(session_id, self._owner._logged_on)

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        state = self._owner.session(session_id)
        if state is not None:
            self._owner.logged_on.discard(state.name)
            log.info("dropcopy.logout", session=state.name)

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        if message.getHeader().getField(35) == "A" and message.isSetField(141) and message.getField(141) == "Y":
            self._with_session(session_id, self._owner._reset_requested)

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        raise qf.UnsupportedMessageType()  # QuickFIX answers with a BusinessMessageReject

