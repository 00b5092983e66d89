"""A FIX broker reached through a QuickFIX initiator session, seen by the router as a `Venue`.

QuickFIX callbacks only convert: inbound application messages are decoded with the broker's dialect and handed
to the listener (which queues them for the router's thread); raw messages go to the journal tap.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import quickfix as qf
import structlog

from fixgw.engine.broker_account import ACCOUNT_MESSAGES, AccountDataCollector
from fixgw.engine.quickfix_support import (
    QuietApplication,
    fields_to_message,
    guard_callback,
    message_text_fields,
    message_to_fields,
)
from fixgw.engine.security import LogonStoreGuard
from fixgw.engine.translator import SessionTranslator
from fixgw.fix.fields import FieldView
from fixgw.marketdata.fix_source import MD_MESSAGE_TYPES, FixMarketData
from fixgw.model.enums import CxlRejReason, CxlRejResponseTo, ExecType, OrdRejReason, OrdStatus
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
from fixgw.venues.base import CommandKind, Venue, VenueListener

log = structlog.get_logger("fixgw.engine.broker")

SENT_MEMORY = 100_000
"""How many of our outbound (MsgSeqNum -> ClOrdID) a broker session remembers to match its rejects."""

RawTap = Callable[[str, str, str, list[tuple[int, str]], str | None], None]
"""(session name, direction "in"/"out", msg_type, fields, QuickFIX's text of them or None) for the message journal."""


class FixBrokerVenue(Venue):
    def __init__(self, name: str, session_id: qf.SessionID, translator: SessionTranslator, tap: RawTap,
                 username: str | None = None, password: str | None = None) -> None:
        self.name = name
        self.session_id = session_id
        self.translator = translator
        self.symbol_scheme = translator.symbol_scheme
        self._tap = tap
        self._listener: VenueListener | None = None
        self._logged_on = False
        self.username = username
        self.password = password
        self._sent: OrderedDict[int, tuple[str, str]] = OrderedDict()
        self.account_data = AccountDataCollector(name, self._send_account_request)
        """Positions (35=AN/AP) and collateral (35=BB/BA), where the broker's dialect says it answers them."""
        self.market_data: FixMarketData | None = None
        """A market-data subscription riding this session (its dialect supports 35=V), set by the gateway."""
        self.supports_mass_status = translator.supports_mass_status
        self._mass_status: dict[str, set[str]] = {}
        """MassStatusReqID -> our ClOrdIDs its answer has not mentioned yet."""

    @property
    def connected(self) -> bool:
        return self._logged_on

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def start(self) -> None:
        """The shared initiator (owned by the gateway) connects every broker session."""

    def stop(self, timeout: float = 5.0) -> None:
        """See start()."""

    def send_new(self, order: NewOrder) -> None:
        self._send(self.translator.encode_command(order), order.cl_ord_id, CommandKind.NEW)

    def send_cancel(self, cancel: CancelOrder) -> None:
        self._send(self.translator.encode_command(cancel), cancel.cl_ord_id, CommandKind.CANCEL)

    def send_replace(self, replace: ReplaceOrder) -> None:
        self._send(self.translator.encode_command(replace), replace.cl_ord_id, CommandKind.REPLACE)

    def send_status_request(self, request: StatusRequest) -> None:
        self._send(self.translator.encode_command(request), request.cl_ord_id, CommandKind.STATUS)

    def send_mass_status_request(self, request: MassStatusRequest) -> None:
        fields = self.translator.encode_command(request)
        self._mass_status[request.mass_status_req_id] = set(request.cl_ord_ids)
        self._send(fields, request.mass_status_req_id, CommandKind.STATUS)

    def _send(self, fields: list[tuple[int, str]], cl_ord_id: str, kind: str) -> None:
        message = fields_to_message(fields, begin_string=self.translator.begin_string)
        # Sent while logged out, QuickFIX stores the message and the broker gets it by resend after logon.
        try:
            qf.Session.sendToTarget(message, self.session_id)
        except qf.SessionNotFound:
            log.error("broker.session_not_found", venue=self.name, cl_ord_id=cl_ord_id)
            if self._listener is not None:
                self._listener.on_outcome_unknown(self.name, cl_ord_id, kind, "session not found")
            return
        self._tap(self.name, "out", fields[0][1], fields, None)

    def _send_account_request(self, fields: list[tuple[int, str]]) -> bool:
        try:
            sent = bool(qf.Session.sendToTarget(fields_to_message(fields, begin_string=self.translator.begin_string),
                                                 self.session_id))
        except qf.SessionNotFound:
            return False
        self._tap(self.name, "out", fields[0][1], fields, None)
        return sent

    # ------------------------------------------------------------------ from QuickFIX threads

    def on_logon(self) -> None:
        self._logged_on = True
        log.info("broker.logon", venue=self.name)
        if self.market_data is not None:
            request = self.market_data.request()
            qf.Session.sendToTarget(fields_to_message(request, begin_string=self.translator.begin_string),
                                     self.session_id)
        if self._listener is not None:
            self._listener.on_connectivity(self.name, True)

    def on_logout(self) -> None:
        was = self._logged_on
        self._logged_on = False
        self._mass_status.clear()  # its answers are lost with the session: the next logon asks again
        if was:
            log.warning("broker.logout", venue=self.name)
        if self._listener is not None:
            self._listener.on_connectivity(self.name, False)

    def remember_sent(self, seq_num: int, msg_type: str, cl_ord_id: str) -> None:
        self._sent[seq_num] = (msg_type, cl_ord_id)
        while len(self._sent) > SENT_MEMORY:
            self._sent.popitem(last=False)

    def on_reject(self, fields: list[tuple[int, str]]) -> None:
        """A session Reject (35=3) or BusinessMessageReject (35=j) of one of our messages: definitive evidence."""
        values = FieldView(fields).first
        self._tap(self.name, "in", values.get(35, ""), fields, None)
        ref_seq = values.get(45, "")
        if values.get(372) == "AF" and self._mass_status:
            self._mass_status_refused(values.get(58, ""))
            return
        sent = self._sent.get(int(ref_seq)) if ref_seq.isdigit() else None
        text = f"{'session' if values.get(35) == '3' else 'business'} reject by {self.name}: {values.get(58, '')}"
        log.warning("broker.reject", venue=self.name, ref_seq_num=ref_seq, ref_msg_type=values.get(372),
                    ref_tag_id=values.get(371), text=text)
        if sent is None or self._listener is None:
            return
        msg_type, cl_ord_id = sent
        if msg_type == "D":
            self._listener.on_execution(self.name, ExecutionEvent(
                exec_id=f"{self.name}-reject-{ref_seq}", exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED,
                cl_ord_id=cl_ord_id, text=text, transact_time=utc_now()))
        elif msg_type == "H":  # a refused status request: the broker does not know the order (any more)
            self._listener.on_execution(self.name, ExecutionEvent(
                exec_id=f"{self.name}-reject-{ref_seq}", exec_type=ExecType.ORDER_STATUS,
                ord_status=OrdStatus.REJECTED, cl_ord_id=cl_ord_id, ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                text=text, transact_time=utc_now(), is_status_response=True))
        elif msg_type in ("F", "G"):
            self._listener.on_cancel_reject(self.name, CancelRejectEvent(
                cl_ord_id=cl_ord_id, ord_status=OrdStatus.NEW, reason=CxlRejReason.OTHER, text=text,
                response_to=CxlRejResponseTo.CANCEL if msg_type == "F" else CxlRejResponseTo.REPLACE))

    def on_message(self, fields: list[tuple[int, str]], text: str | None = None) -> None:
        """An application message from the broker; `text`: QuickFIX's text of it (journaled as is)."""
        msg_type = next((value for tag, value in fields if tag == 35), "")
        if msg_type == "j":
            self.on_reject(fields)
            return
        if self.market_data is not None and msg_type in MD_MESSAGE_TYPES:
            self.market_data.on_message(fields)   # prices, not order flow: not journaled as messages
            return
        self._tap(self.name, "in", msg_type, fields, text)
        if msg_type in ACCOUNT_MESSAGES:
            self.account_data.on_message(msg_type, fields)
            return
        if self._mass_status and msg_type == "8" and self._on_mass_status_report(fields):
            return
        try:
            event = self.translator.decode_venue(fields)
        except MessageRejected as exc:
            log.error("broker.undecodable_message", venue=self.name, msg_type=msg_type, error=exc.text,
                      ref_tag_id=exc.ref_tag_id)
            return
        if event is None or self._listener is None:
            return
        if isinstance(event, ExecutionEvent):
            self._listener.on_execution(self.name, event)
        elif isinstance(event, CancelRejectEvent):
            self._listener.on_cancel_reject(self.name, event)

    def _mass_status_refused(self, text: str) -> None:
        """The broker does not take OrderMassStatusRequest after all: ask per order, as after a plain logon."""
        log.warning("broker.mass_status_refused", venue=self.name, text=text)
        self.supports_mass_status = False
        self._mass_status.clear()
        if self._listener is not None and self._logged_on:
            self._listener.on_connectivity(self.name, True)  # the router asks about each open order in turn

    def _on_mass_status_report(self, fields: list[tuple[int, str]]) -> bool:
        """Tick off an answer to our OrderMassStatusRequest; at its last (912=Y), every order it left out is one
        the broker does not know. True when the report names no order (the broker has none) and is done with."""
        values = FieldView(fields).first
        request_id = values.get(584)
        pending = self._mass_status.get(request_id) if request_id else None
        if pending is None or request_id is None:
            return False
        cl_ord_id = values.get(11)
        if cl_ord_id:
            pending.discard(cl_ord_id)
        if values.get(912) == "Y":
            del self._mass_status[request_id]
            log.info("broker.mass_status_answered", venue=self.name, request_id=request_id, missing=len(pending))
            for missing in sorted(pending):
                if self._listener is not None:
                    self._listener.on_execution(self.name, ExecutionEvent(
                        exec_id=f"{self.name}-{request_id}-{missing}", exec_type=ExecType.ORDER_STATUS,
                        ord_status=OrdStatus.REJECTED, cl_ord_id=missing, ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                        text=f"unknown order: not in {self.name}'s answer to OrderMassStatusRequest {request_id}",
                        transact_time=utc_now(), is_status_response=True))
        return not cl_ord_id


class BrokerApplication(QuietApplication):
    """QuickFIX application for every broker session of the shared initiator."""

    def __init__(self, venues: dict[str, FixBrokerVenue]) -> None:
        super().__init__()
        self._by_session = {venue.session_id.toString(): venue for venue in venues.values()}
        self._store_guard = LogonStoreGuard()

    def _venue(self, session_id: qf.SessionID) -> FixBrokerVenue | None:
        return self._by_session.get(session_id.toString())

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        venue = self._venue(session_id)
        if venue is not None:
            venue.on_logon()

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        venue = self._venue(session_id)
        if venue is not None:
            venue.on_logout()

    @guard_callback
    def toAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        venue = self._venue(session_id)
        if venue is not None and venue.username is not None and message.getHeader().getField(35) == "A":
            message.setField(553, venue.username)
            if venue.password is not None:
                message.setField(554, venue.password)
        self._store_guard.before_send(message, session_id)  # the password stays out of the FileStore

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        if message.getHeader().getField(35) == "3":
            venue = self._venue(session_id)
            if venue is not None:
                venue.on_reject(message_to_fields(message))

    @guard_callback
    def toApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self.check_send_gate()
        self._store_guard.before_send(message, session_id)
        venue = self._venue(session_id)
        if venue is not None and message.isSetField(11):
            header = message.getHeader()
            venue.remember_sent(int(header.getField(34)), header.getField(35), message.getField(11))

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        venue = self._venue(session_id)
        if venue is not None:
            text, fields = message_text_fields(message)
            venue.on_message(fields, text)
