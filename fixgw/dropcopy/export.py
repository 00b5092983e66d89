"""Audit exports, streamed row by row: archived messages as csv / jsonl / a FIX log, order events as csv / jsonl.

The FIX log is what QuickFIX's FileLog writes: one complete message per line, SOH-delimited, with a correct
BodyLength(9) and CheckSum(10). The journal keeps outbound messages as bodies (QuickFIX adds the header when it
sends): the header is rebuilt as best known - BeginString and CompIDs of the session from the configuration,
MsgSeqNum(34) as journaled (0 when the journal never saw it: outbound messages are numbered by QuickFIX after
the journal commit), SendingTime(52) = the journal time. Header fields the journal did keep are used as kept.
Credentials (553/554/925/96) never leave: they are masked.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TextIO, TypeVar

from fixgw.dropcopy.copies import COPY_BEGIN_STRING, DROPCOPY_SESSION
from fixgw.fix.wire import frame_fix, parse_fix, render_fix
from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import OrdStatus, Side
from fixgw.model.events import EventName
from fixgw.security.masking import SECRET_TAGS, mask_secret_fields
from fixgw.store.archive import ArchivedEvent, ArchivedExchange, ArchivedMessage

MessageFormat = Literal["csv", "jsonl", "fix"]
EventFormat = Literal["csv", "jsonl"]
Progress = Callable[[int], None]
"""Called with the number of rows written so far (every PROGRESS_EVERY rows, and at the end)."""
PROGRESS_EVERY = 1000
READABLE_SOH = "|"
"""Field delimiter of the `raw` column in csv/jsonl (SOH is invisible in spreadsheets and viewers); the FIX log
keeps SOH."""
T = TypeVar("T")

MESSAGE_COLUMNS = ("id", "at", "session", "direction", "msg_type", "seq_num", "order_id", "cl_ord_id", "account",
                   "instrument_id", "venue", "raw")
EVENT_COLUMNS = ("at", "category", "event", "order_id", "status", "status_name", "ems_session", "parent_cl_ord_id",
                 "cl_ord_id", "account", "instrument_id", "side", "qty", "price", "venue", "child_cl_ord_id",
                 "venue_order_id", "exec_id", "text")

E = EventName
# Journal event names in the regulators' vocabulary (CAT / MiFID style): one category per event, every name mapped
# (tests/unit/test_dropcopy_copies.py). "exception": what we noted about an order without a lifecycle step;
# "control": the risk controls' audit rows.
EVENT_CATEGORIES: dict[str, str] = {
    E.NEW: "new",
    E.ROUTE: "route", E.RESUBMIT: "route",
    E.ACK: "accept",
    E.REPLACE_REQUESTED: "modify", E.REPLACED: "modify",
    E.CANCEL_REQUESTED: "cancel", E.CANCELED: "cancel", E.CANCELED_UNSOLICITED: "cancel",
    E.CANCEL_ON_DISCONNECT: "cancel", E.KILL_CANCEL: "cancel", E.EXPIRE: "cancel", E.DONE_FOR_DAY: "cancel",
    E.FILL: "fill", E.TRADE_CORRECT: "fill", E.TRADE_CANCEL: "fill",
    E.DENY: "reject", E.REJECT: "reject", E.CANCEL_REJECTED: "reject", E.REPLACE_REJECTED: "reject",
    E.OUTCOME_UNKNOWN: "exception", E.OUTCOME_UNKNOWN_IGNORED: "exception", E.STATUS_MISMATCH: "exception",
    E.VENUE_REPORT_IGNORED: "exception", E.PROTOCOL_ERROR: "exception", E.UNANSWERED: "exception",
    E.UNKNOWN_AT_VENUE: "exception", E.EMS_BUSINESS_REJECT: "exception", E.NOT_CARRIED: "reject",
    E.FOUND_LATE: "accept", E.UNKNOWN_VENUE_ORDER: "exception", E.NOT_PLACED: "reject",
    E.KILL_SET: "control", E.KILL_CLEARED: "control", E.BREAKER_TRIPPED: "control", E.BREAKER_RESET: "control",
    E.RAMP_LIFTED: "control", E.RAMP_RESTORED: "control", E.RISK_RELOADED: "control", E.RELOAD_REQUESTED: "control",
    E.CONTROL_REFUSED: "control",
}
"""A name this table does not know (a newer gateway's journal) is "other"."""

# Standard header fields, in the order a header is written after 8/9/35.
_HEADER_TAGS = (49, 56, 115, 128, 90, 91, 50, 142, 57, 143, 116, 144, 129, 145, 34, 43, 97, 52, 122, 212, 213, 347,
                369, 627, 1128, 1129, 1156)
_HEADER = frozenset(_HEADER_TAGS)
_FRAME = frozenset({8, 9, 10})
_MORE_SECRETS = frozenset({553})  # Username: not a secret alone, but it has no business in an export
_SECRETS = SECRET_TAGS | _MORE_SECRETS


@dataclass(frozen=True, slots=True)
class SessionHeader:
    begin_string: str
    our_comp_id: str
    their_comp_id: str


class HeaderBook:
    """What each journal session's header looked like: from the configuration when given, else defaults."""

    def __init__(self, sessions: Mapping[str, SessionHeader] | None = None) -> None:
        self.sessions = dict(sessions or {})

    def of(self, session: str) -> SessionHeader:
        known = self.sessions.get(session)
        if known is not None:
            return known
        if session == DROPCOPY_SESSION:
            return SessionHeader(COPY_BEGIN_STRING, "FIXGW", "DROPCOPY")
        return SessionHeader("FIX.4.4", "FIXGW", session)


def utc_text(at: datetime) -> str:
    """ISO 8601 UTC with microseconds: 2025-06-02T14:03:11.123456Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- FIX framing -----------------------------------------------------------------------------------------------


def frame_for_log(begin_string: str, fields: Iterable[tuple[int, str]]) -> str:
    """A complete FIX message: 8, 9, 35, the header fields, the body, 10 - BodyLength and CheckSum computed
    over the UTF-8 bytes. `fields` may hold header fields anywhere and stale 8/9/10 (dropped)."""
    header: dict[int, str] = {}
    body: list[tuple[int, str]] = []
    msg_type = ""
    for tag, value in fields:
        if tag == 35:
            msg_type = value
        elif tag in _HEADER:
            header.setdefault(tag, value)
        elif tag not in _FRAME:
            body.append((tag, value))
    ordered = [(35, msg_type), *((tag, header[tag]) for tag in _HEADER_TAGS if tag in header), *body]
    return frame_fix(begin_string, ordered)


def fix_log_line(message: ArchivedMessage, headers: HeaderBook) -> str:
    """One archived message as a FIX log line (no trailing newline)."""
    fields = _masked(parse_fix(message.raw))
    known = dict(fields)
    session = headers.of(message.session)
    begin_string = known.get(8, session.begin_string)
    ours, theirs = session.our_comp_id, session.their_comp_id
    sender, target = (ours, theirs) if message.direction == "out" else (theirs, ours)
    extra = [(49, sender), (56, target),
             (34, str(message.seq_num) if message.seq_num is not None else "0"),
             (52, message.at.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3])]
    return frame_for_log(begin_string, [*fields, *((tag, value) for tag, value in extra if tag not in known)])


# --- writers ---------------------------------------------------------------------------------------------------


def message_record(message: ArchivedMessage) -> dict[str, str | int | None]:
    return {"id": message.id, "at": utc_text(message.at), "session": message.session,
            "direction": message.direction, "msg_type": message.msg_type, "seq_num": message.seq_num,
            "order_id": message.order_id, "cl_ord_id": message.cl_ord_id, "account": message.account,
            "instrument_id": message.instrument_id, "venue": message.venue,
            "raw": render_fix(_masked(parse_fix(message.raw)), READABLE_SOH)}


def write_messages(messages: Iterable[ArchivedMessage], out: TextIO, fmt: MessageFormat, *,
                   headers: HeaderBook | None = None, progress: Progress | None = None) -> int:
    """Write every message to `out` in `fmt` as it streams in; returns how many."""
    headers = headers or HeaderBook()
    if fmt == "fix":
        return _each(messages, lambda m: out.write(fix_log_line(m, headers) + "\n"), progress)
    if fmt == "jsonl":
        return _each(messages, lambda m: out.write(json.dumps(message_record(m), ensure_ascii=False) + "\n"),
                     progress)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MESSAGE_COLUMNS)
    return _each(messages, lambda m: writer.writerow(message_record(m).values()), progress)


def exchange_record(exchange: ArchivedExchange) -> dict[str, Any]:
    """One REST request to a venue and its answer (the venue wire archive), masked when it was journaled."""
    return {"record": "venue_wire", "id": exchange.id, "at": utc_text(exchange.at), "venue": exchange.venue,
            "method": exchange.method, "endpoint": exchange.endpoint, "path": exchange.path, "status": exchange.status,
            "latency_us": exchange.latency_us, "route": exchange.route, "attempt": exchange.attempt,
            "request": exchange.exchange.get("request"), "response": exchange.exchange.get("response")}


def write_messages_with_wire(messages: Iterable[ArchivedMessage], exchanges: Iterable[ArchivedExchange],
                             out: TextIO, *, progress: Progress | None = None) -> int:
    """jsonl: the messages and the venue wire exchanges in one stream, in time order (both come sorted)."""
    rows = heapq.merge(((m.at, 0, message_record(m)) for m in messages),
                       ((e.at, 1, exchange_record(e)) for e in exchanges), key=lambda row: (row[0], row[1]))
    return _each(rows, lambda row: out.write(json.dumps(row[2], ensure_ascii=False) + "\n"), progress)


def event_record(event: ArchivedEvent) -> dict[str, str | None]:
    """One order event as a report row; quantity and price are the event's own (new, replace, fill) or else
    the order's current terms; ids link the parent (EMS order) and the routed child (our id at the venue)."""
    detail = event.detail
    return {
        "at": utc_text(event.at), "category": EVENT_CATEGORIES.get(event.event, "other"), "event": event.event,
        "order_id": event.order_id, "status": event.status, "status_name": _status_name(event.status),
        "ems_session": event.ems_session,
        "parent_cl_ord_id": event.parent_cl_ord_id, "cl_ord_id": detail.get("cl_ord_id"),
        "account": event.account, "instrument_id": event.instrument_id, "side": _side(event.side),
        "qty": _number(detail.get("qty", event.order_qty)), "price": _number(detail.get("price", event.price)),
        "venue": detail.get("venue", event.venue),
        "child_cl_ord_id": detail.get("venue_cl_ord_id", event.venue_cl_ord_id),
        "venue_order_id": detail.get("venue_order_id", event.venue_order_id),
        "exec_id": detail.get("exec_id") or detail.get("exec_ref_id"),
        "text": detail.get("text") or detail.get("reason") or detail.get("error"),
    }


def write_events(events: Iterable[ArchivedEvent], out: TextIO, fmt: EventFormat, *,
                 progress: Progress | None = None) -> int:
    if fmt == "jsonl":
        return _each(events, lambda e: out.write(json.dumps(event_record(e), ensure_ascii=False) + "\n"), progress)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    return _each(events, lambda e: writer.writerow(event_record(e).values()), progress)


def _each(rows: Iterable[T], write: Callable[[T], object], progress: Progress | None) -> int:
    count = 0
    for row in rows:
        write(row)
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return count


def _masked(fields: list[tuple[int, str]]) -> list[tuple[int, str]]:
    if _SECRETS.isdisjoint([tag for tag, _ in fields]):
        return fields
    fields = mask_secret_fields(fields)
    return [(tag, "***" if tag in _MORE_SECRETS else value) for tag, value in fields]


def _number(text: str | None) -> str | None:
    """Plain decimal text ("500", "190.25") whatever scale the journal kept it at."""
    if not text:
        return text
    try:
        return fmt_decimal(Decimal(text))
    except InvalidOperation:
        return text


def _status_name(value: str | None) -> str | None:
    """OrdStatus(39) code or local state -> its name (FILLED, DENIED): the `status` column keeps what was journaled."""
    try:
        return OrdStatus(value).name if value is not None else None
    except ValueError:
        return value


def _side(value: str | None) -> str | None:
    try:
        return Side(value).name if value is not None else None
    except ValueError:
        return value
