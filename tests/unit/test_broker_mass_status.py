"""The FIX broker venue's OrderMassStatusRequest bookkeeping: orders its answer leaves out are unknown there, and a
broker that refuses the request falls back to one OrderStatusRequest per order."""

from __future__ import annotations

from typing import Any

import quickfix as qf

from fixgw.config import DEFAULT_SPECS_DIR
from fixgw.engine.broker import FixBrokerVenue
from fixgw.engine.translation import DialectTranslator
from fixgw.fix.codec import Codec
from fixgw.fix.dialect import dialect_named
from fixgw.model.enums import ExecType, OrdRejReason, OrdStatus
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import MassStatusRequest


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_execution(self, venue: str, event: Any) -> None:
        self.calls.append(("execution", event))

    def on_cancel_reject(self, venue: str, event: Any) -> None:
        self.calls.append(("cancel_reject", event))

    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None:
        self.calls.append(("unknown", cl_ord_id))

    def on_connectivity(self, venue: str, connected: bool) -> None:
        self.calls.append(("connectivity", connected))


def venue() -> tuple[FixBrokerVenue, Recorder]:
    symbols = SymbolMaster.from_toml((DEFAULT_SPECS_DIR / "symbols.toml").read_text(encoding="utf-8"))
    dialect = dialect_named("generic-broker").model_copy(update={"mass_status": True})
    codec = DialectTranslator(Codec(dialect, symbols, "FIX.4.4"), "FIX.4.4")
    broker = FixBrokerVenue("BRK", qf.SessionID("FIX.4.4", "FIXGW", "NOBODY"), codec, tap=lambda *_: None)
    assert broker.supports_mass_status
    listener = Recorder()
    broker.bind(listener)
    broker.on_logon()
    listener.calls.clear()
    # No such QuickFIX session here: the request is "sent" (bookkept) and its transport fails, which is all we need.
    broker.send_mass_status_request(MassStatusRequest(mass_status_req_id="MS-1", cl_ord_ids=("1-1.0", "1-2.0")))
    listener.calls.clear()
    return broker, listener


def report(cl_ord_id: str | None, last: bool) -> list[tuple[int, str]]:
    fields = [(35, "8"), (37, "B-1" if cl_ord_id else "NONE"), (17, "E1"), (150, "I"), (39, "0"), (55, "AAPL"),
              (54, "1"), (151, "100"), (14, "0"), (6, "0"), (38, "100"), (40, "2"), (44, "190.00"), (584, "MS-1"),
              (912, "Y" if last else "N")]
    return fields if cl_ord_id is None else [*fields, (11, cl_ord_id)]


def test_orders_the_mass_status_answer_leaves_out_are_reported_unknown_at_the_last_report() -> None:
    broker, listener = venue()
    broker.on_message(report("1-1.0", last=False))
    assert [kind for kind, _ in listener.calls] == ["execution"]          # 1-1.0 decoded as a status answer
    broker.on_message(report(None, last=True))                            # the end; 1-2.0 never mentioned
    [(_kind, unknown)] = listener.calls[1:]
    assert (unknown.cl_ord_id, unknown.exec_type, unknown.ord_status) == ("1-2.0", ExecType.ORDER_STATUS,
                                                                           OrdStatus.REJECTED)
    assert unknown.is_status_response and unknown.ord_rej_reason is OrdRejReason.UNKNOWN_ORDER


def test_a_refused_mass_status_request_falls_back_to_per_order_requests() -> None:
    broker, listener = venue()
    broker.on_reject([(35, "j"), (45, "2"), (372, "AF"), (380, "3"), (58, "Unsupported Message Type")])
    assert broker.supports_mass_status is False
    assert listener.calls == [("connectivity", True)]                    # the router asks per order now
