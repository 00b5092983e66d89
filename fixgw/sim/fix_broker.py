"""FixBrokerSimulator: a QuickFIX acceptor behaving like an equities / fixed-income broker.

The QuickFIX callbacks copy each request and hand it to one worker thread (fixgw.sim.scheduler); the
worker runs the sans-I/O BrokerBook (fixgw.sim.broker_book) and sends its replies, so acks, delayed fill
slices and test-injected events (fill, bust, expire, ...) never race each other.
Order state lives in memory only; sequence numbers survive restarts when store_dir is set (FileStore).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

import quickfix as qf
import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fixgw.engine.quickfix_support import (
    FIX50SP2_APPL_VER_ID,
    FIXT11,
    QuietApplication,
    build_session_settings,
    data_dictionary_settings,
    ensure_new_sessions,
    fields_to_message,
    guard_callback,
    keep_alive,
    load_data_dictionary,
    request_logout,
)
from fixgw.fix import marketdata as md
from fixgw.fix.wire import parse_fix
from fixgw.sim.broker_book import (
    BrokerBook,
    BrokerRules,
    ExecutionSnapshot,
    OrderSnapshot,
    Reply,
    statement_csv,
)
from fixgw.sim.fix_client import ReceivedMessage
from fixgw.sim.fix_positions import ACCOUNT_REQUESTS, answer
from fixgw.sim.scheduler import Scheduler

log = structlog.get_logger(__name__)

T = TypeVar("T")
BeginString = Literal["FIX.4.2", "FIX.4.4", "FIXT.1.1"]
_HANDLED_MSG_TYPES = frozenset({"D", "F", "G", "H", "V", "AF"}) | ACCOUNT_REQUESTS
_MD_SIZE = Decimal(100)
_HALF_SPREAD = Decimal("0.0005")
_CALL_TIMEOUT = 5.0


class FixBrokerSimConfig(BaseModel):
    """Simulator settings. QuickFIX 1.16 has no bind-address setting: the acceptor listens on every
    interface at `port`; `host` is the address clients are told to use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    sender_comp_id: str = "BROKER"
    target_comp_ids: tuple[str, ...] = Field(default=("FIXGW",), min_length=1)
    begin_strings: tuple[BeginString, ...] = Field(default=("FIX.4.2", "FIX.4.4"), min_length=1)
    store_dir: Path | None = None
    """FileStore folder (sequence numbers survive restarts); None keeps them in memory."""
    log_dir: Path | None = None
    """QuickFIX FileLog folder (messages and events per session); None logs nothing."""
    fill_slices: int = Field(default=2, ge=1)
    fill_delay_ms: int = Field(default=5, ge=0)
    ack_delay_ms: int = Field(default=0, ge=0)
    auto_fill: bool = True
    reject_symbols: tuple[str, ...] = ()
    max_order_qty: Decimal | None = Field(default=None, gt=0)
    reference_price: Decimal = Field(default=Decimal("100"), gt=0)
    """Fill price of market orders."""
    start_cash: Decimal = Decimal("1000000")
    """Cash per account before any fill, for CollateralReport (35=BA)."""
    validate_messages: bool = True
    """Standard data-dictionary validation (specs/fix) of inbound messages."""
    heartbeat_interval: int = Field(default=30, ge=1)
    extra_settings: dict[str, str] = Field(default_factory=dict)
    """Any QuickFIX setting, applied to the DEFAULT section last."""

    @field_validator("max_order_qty", "reference_price", "start_cash", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("give quantities and prices as str, int or Decimal, never float")
        return value


class FixBrokerSimulator:
    """Start it, point a FIX initiator at it, and drive or inspect it from the test thread."""

    def __init__(self, config: FixBrokerSimConfig) -> None:
        self.config = config
        self.auto_fill = config.auto_fill
        """Read by the worker before each automatic fill slice: tests may switch it at run time."""
        rules = BrokerRules(frozenset(config.reject_symbols), config.max_order_qty, config.reference_price)
        self._book = BrokerBook(rules, id_prefix=_id_prefix())
        self._scheduler: Scheduler | None = None
        self._condition = threading.Condition()
        self._session_ids: dict[str, qf.SessionID] = {}
        self._logged_on: set[str] = set()
        self._requests: list[ReceivedMessage] = []
        self._market: dict[str, tuple[Decimal, Decimal]] = {}
        """Best bid and offer per symbol the simulator publishes (worker thread)."""
        self._subscriptions: dict[tuple[str, str], list[str]] = {}
        """(session, MDReqID) -> symbols subscribed with 35=V."""
        settings = self._settings()
        ensure_new_sessions(settings)
        store: qf.MessageStoreFactory = (
            qf.FileStoreFactory(settings) if config.store_dir is not None else qf.MemoryStoreFactory()
        )
        self._application = _BrokerApplication(self)
        self._acceptor: qf.ThreadedSocketAcceptor | None
        if config.log_dir is not None:
            log_factory = qf.FileLogFactory(settings)
            self._acceptor = keep_alive(qf.ThreadedSocketAcceptor(self._application, store, settings, log_factory),
                                        self._application, store, log_factory)
        else:
            self._acceptor = keep_alive(qf.ThreadedSocketAcceptor(self._application, store, settings),
                                        self._application, store)

    def _settings(self) -> qf.SessionSettings:
        config = self.config
        default = {
            "ConnectionType": "acceptor",
            "SocketAcceptPort": str(config.port),
            "HeartBtInt": str(config.heartbeat_interval),
            "NonStopSession": "Y",
            "SocketNodelay": "Y",
        }
        if config.store_dir is not None:
            default["FileStorePath"] = str(config.store_dir)
        if config.log_dir is not None:
            default["FileLogPath"] = str(config.log_dir)
        default.update(config.extra_settings)
        sessions = []
        for begin_string in config.begin_strings:
            per_version = data_dictionary_settings(begin_string) if config.validate_messages else {}
            if begin_string == FIXT11:
                per_version["DefaultApplVerID"] = FIX50SP2_APPL_VER_ID
            for target in config.target_comp_ids:
                sessions.append(
                    {
                        "BeginString": begin_string,
                        "SenderCompID": config.sender_comp_id,
                        "TargetCompID": target,
                        "UseDataDictionary": "Y" if config.validate_messages else "N",
                        **per_version,
                    }
                )
        return build_session_settings(default, sessions)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on the port (bound when this returns) and start the worker. No restart after stop():
        a restarted broker is a new FixBrokerSimulator on the same store_dir."""
        if self._acceptor is None:
            raise RuntimeError("this FixBrokerSimulator was stopped: create a new one")
        self._scheduler = Scheduler("fix-broker-sim")
        self._acceptor.start()
        log.info("fix_broker_sim_started", port=self.config.port, sessions=sorted(self._session_ids))

    def stop(self, timeout: float = 5.0) -> None:
        """Drop pending fills, log every session out (bounded wait), close the acceptor and release its
        sessions (QuickFIX unregisters them only when the acceptor is destroyed)."""
        if self._acceptor is None:
            return
        if self._scheduler is None:  # never started: still release the sessions it registered
            self._acceptor = None
            return
        self._scheduler.stop(timeout)
        for key in self.logged_on_sessions():
            request_logout(self._session_ids[key], "broker simulator stopping")
        with self._condition:
            self._condition.wait_for(lambda: not self._logged_on, timeout)
        # force=True: we already waited for the logouts; QuickFIX's own wait polls in whole seconds.
        self._acceptor.stop(True)
        self._acceptor = None
        self._scheduler = None
        log.info("fix_broker_sim_stopped", port=self.config.port)

    def __enter__(self) -> FixBrokerSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def session_ids(self) -> list[str]:
        """Every configured session ("FIX.4.4:BROKER->FIXGW"), sorted; known once start() returns."""
        with self._condition:
            return sorted(self._session_ids)

    def logged_on_sessions(self) -> list[str]:
        """Session ids ("FIX.4.4:BROKER->FIXGW") currently logged on, sorted."""
        with self._condition:
            return sorted(self._logged_on)

    def wait_logged_on(self, count: int = 1, timeout: float = 10.0) -> bool:
        """True once at least `count` sessions are logged on; False after `timeout` seconds."""
        with self._condition:
            return self._condition.wait_for(lambda: len(self._logged_on) >= count, timeout)

    # -- inspection and injected events (any thread) ---------------------------------------------

    @property
    def orders(self) -> dict[str, OrderSnapshot]:
        """Snapshot of every accepted order, keyed by broker OrderID."""
        return self._on_worker(self._book.snapshot)

    def executions(self) -> list[ExecutionSnapshot]:
        """Every standing execution (busts and corrected-away trades left out), oldest first."""
        return self._on_worker(self._book.executions)

    def write_statement(self, path: Path) -> Path:
        """Write the end-of-day statement (CSV, `specs/recon/fix-broker-sim.toml` maps its columns)."""
        path.write_text(statement_csv(self.executions()), encoding="utf-8")
        return path

    def received_requests(self) -> list[ReceivedMessage]:
        """Every application message received (wire fields, groups in order), oldest first."""
        with self._condition:
            return list(self._requests)

    def new_order_counts(self, include_possdup: bool = False) -> dict[str, int]:
        """NewOrderSingles received per ClOrdID (duplicates included; PossDup resends only on request)."""
        return self._on_worker(partial(self._book.new_order_counts, include_possdup))

    def fill(self, order: str, qty: Decimal | str | int, price: Decimal | str | int | None = None) -> str:
        """Execute `qty` of `order` (OrderID or ClOrdID); returns the ExecID."""
        px = None if price is None else _decimal(price)
        return self._on_worker(lambda: self._send_with_id(self._book.fill(order, _decimal(qty), px)))

    def cancel_unsolicited(self, order: str) -> None:
        self._on_worker(lambda: self._send_all(self._book.cancel_unsolicited(order)))

    def expire(self, order: str) -> None:
        self._on_worker(lambda: self._send_all(self._book.expire(order)))

    def done_for_day(self, order: str) -> None:
        self._on_worker(lambda: self._send_all(self._book.done_for_day(order)))

    def bust(self, exec_id: str) -> None:
        self._on_worker(lambda: self._send_all(self._book.bust(exec_id)))

    def correct(self, exec_id: str, qty: Decimal | str | int, price: Decimal | str | int) -> str:
        """Correct an execution's quantity and price; returns the correction's ExecID."""
        return self._on_worker(lambda: self._send_with_id(self._book.correct(exec_id, _decimal(qty), _decimal(price))))

    def set_market_price(self, symbol: str, mid: Decimal | str | int) -> None:
        """Move `symbol`'s top of book to `mid` +- 5 bps; subscribers get a 35=X."""
        self._on_worker(lambda: self._move_market(symbol, _decimal(mid)))

    def _on_worker(self, task: Callable[[], T]) -> T:
        if self._scheduler is None:
            raise RuntimeError("the simulator is not running")
        return self._scheduler.call(task, _CALL_TIMEOUT)

    # -- worker side ----------------------------------------------------------------------------

    def _on_request(self, message: qf.Message, session_id: qf.SessionID) -> None:
        """QuickFIX thread: copy the request and queue it; the worker answers after ack_delay_ms."""
        header = message.getHeader()
        msg_type = header.getField(35)
        if msg_type not in _HANDLED_MSG_TYPES:
            raise qf.UnsupportedMessageType()
        possdup = header.isSetField(43) and header.getField(43) == "Y"
        raw = message.toString()
        fields = parse_fix(raw)
        with self._condition:
            self._requests.append(ReceivedMessage(msg_type, fields, raw))
        key = session_id.toString()
        if self._scheduler is not None:
            begin_string = session_id.getBeginString().getValue()
            task = partial(self._handle, key, begin_string, msg_type, fields, possdup)
            self._scheduler.call_later(self.config.ack_delay_ms / 1000, task)

    def _handle(
        self, session: str, begin_string: str, msg_type: str, fields: list[tuple[int, str]], possdup: bool
    ) -> None:
        book = self._book
        if msg_type == "D":
            order_id, replies = book.on_new_order(session, begin_string, fields, possdup)
            self._send_all(replies)
            if order_id is not None:
                self._schedule_fill(order_id)
        elif msg_type == "F":
            self._send_all(book.on_cancel_request(session, begin_string, fields))
        elif msg_type == "G":
            self._send_all(book.on_replace_request(session, begin_string, fields))
        elif msg_type == "V":
            self._send_all(self._market_data_request(session, fields))
        elif msg_type == "AF":
            self._send_all(book.on_mass_status_request(session, begin_string, fields))
        elif msg_type in ACCOUNT_REQUESTS:
            self._send_all(answer(session, msg_type, fields, book.executions(), self.config.start_cash))
        else:
            self._send_all(book.on_status_request(session, begin_string, fields))

    def _top(self, symbol: str) -> tuple[Decimal, Decimal]:
        top = self._market.get(symbol)
        if top is None:
            top = self._market[symbol] = _around(self.config.reference_price)
        return top

    def _market_data_request(self, session: str, fields: list[tuple[int, str]]) -> list[Reply]:
        """35=V: a snapshot (35=W) per symbol now, and a 35=X whenever its top moves (until unsubscribed)."""
        req_id, kind, symbols = md.requested_symbols(fields)
        if kind == md.UNSUBSCRIBE:
            self._subscriptions.pop((session, req_id), None)
            return []
        if not symbols:
            return [Reply(session, md.request_reject(req_id, "no symbol requested"))]
        if kind == md.SNAPSHOT_AND_UPDATES:
            self._subscriptions[(session, req_id)] = symbols
        return [Reply(session, md.snapshot(req_id, symbol, *self._top(symbol), _MD_SIZE)) for symbol in symbols]

    def _move_market(self, symbol: str, mid: Decimal) -> None:
        bid, offer = self._market[symbol] = _around(mid)
        self._send_all([Reply(session, md.incremental(req_id, symbol, bid, offer, _MD_SIZE))
                        for (session, req_id), symbols in self._subscriptions.items() if symbol in symbols
                        and session in self._logged_on])

    def _schedule_fill(self, order_id: str) -> None:
        if self._scheduler is not None:
            self._scheduler.call_later(self.config.fill_delay_ms / 1000, partial(self._auto_fill, order_id))

    def _auto_fill(self, order_id: str) -> None:
        if not self.auto_fill:
            return
        qty = self._book.next_slice(order_id, self.config.fill_slices)
        if qty is None:
            return
        _, replies = self._book.fill(order_id, qty)
        self._send_all(replies)
        if self._book.next_slice(order_id, self.config.fill_slices) is not None:
            self._schedule_fill(order_id)

    def _send_with_id(self, outcome: tuple[str, list[Reply]]) -> str:
        exec_id, replies = outcome
        self._send_all(replies)
        return exec_id

    def _send_all(self, replies: list[Reply]) -> None:
        for reply in replies:
            session_id = self._session_ids[reply.session]
            begin_string = session_id.getBeginString().getValue()
            message = fields_to_message(reply.fields, load_data_dictionary(begin_string), begin_string=begin_string)
            if not qf.Session.sendToTarget(message, session_id):
                # QuickFIX stored it: the client gets it as a resend once it logs on and asks for the gap.
                log.warning("fix_broker_sim_send_deferred", session=reply.session, msg_type=reply.fields[0][1])

    # -- session events (QuickFIX threads) --------------------------------------------------------

    def _on_create(self, session_id: qf.SessionID) -> None:
        # The callback's SessionID belongs to QuickFIX: keep our own copy for sending later.
        copy = qf.SessionID(
            session_id.getBeginString().getValue(),
            session_id.getSenderCompID().getValue(),
            session_id.getTargetCompID().getValue(),
            session_id.getSessionQualifier(),
        )
        with self._condition:
            self._session_ids[copy.toString()] = copy

    def _on_logon(self, session_id: qf.SessionID) -> None:
        with self._condition:
            self._logged_on.add(session_id.toString())
            self._condition.notify_all()
        log.info("fix_broker_sim_logon", session=session_id.toString())

    def _on_logout(self, session_id: qf.SessionID) -> None:
        with self._condition:
            self._logged_on.discard(session_id.toString())
            self._condition.notify_all()
        log.info("fix_broker_sim_logout", session=session_id.toString())


class _BrokerApplication(QuietApplication):
    """QuickFIX callbacks, each guarded: they only record session events or queue requests."""

    def __init__(self, simulator: FixBrokerSimulator) -> None:
        super().__init__()
        self._simulator = simulator

    @guard_callback
    def onCreate(self, session_id: qf.SessionID) -> None:
        self._simulator._on_create(session_id)

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        self._simulator._on_logon(session_id)

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        self._simulator._on_logout(session_id)

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self._simulator._on_request(message, session_id)


def _decimal(value: Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        raise TypeError("give quantities and prices as str, int or Decimal, never float")
    return value if isinstance(value, Decimal) else Decimal(value)


def _around(mid: Decimal) -> tuple[Decimal, Decimal]:
    cent = Decimal("0.01")
    return (mid * (1 - _HALF_SPREAD)).quantize(cent), (mid * (1 + _HALF_SPREAD)).quantize(cent)


def _id_prefix() -> str:
    """Start time in base 36 milliseconds: OrderIDs and ExecIDs stay unique across restarts."""
    millis = time.time_ns() // 1_000_000
    digits = ""
    while millis:
        millis, digit = divmod(millis, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + digits
    return f"B{digits}"
