"""Account data from a FIX broker session: RequestForPositions (35=AN) and CollateralInquiry (35=BB) sent on
demand where the broker's dialect says it answers them (`account_data = true`), their answers (35=AO/AP/BA)
collected per request so the margin service can wait for a complete set (fixgw/fix/positions.py reads them)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from fixgw.fix.positions import (
    CollateralLine,
    PositionLine,
    PositionMessageError,
    collateral_inquiry,
    parse_collateral_report,
    parse_position_report,
    request_for_positions,
)
from fixgw.model.orders import utc_now

log = structlog.get_logger("fixgw.engine.broker_account")

ACCOUNT_MESSAGES = frozenset({"AO", "AP", "BA"})


@dataclass
class AccountAnswer:
    request_id: str
    expected: int | None = None
    positions: list[PositionLine] = field(default_factory=list)
    collateral: list[CollateralLine] = field(default_factory=list)
    collateral_done: bool = False

    @property
    def complete(self) -> bool:
        return self.expected is not None and len(self.positions) >= self.expected and self.collateral_done


class AccountDataCollector:
    def __init__(self, venue: str, send: Callable[[list[tuple[int, str]]], bool]) -> None:
        self.venue = venue
        self._send = send
        self._ids = itertools.count(1)
        self._answers: dict[str, AccountAnswer] = {}
        self._by_inquiry: dict[str, str] = {}
        self._changed = threading.Condition()

    def request(self, account: str) -> str:
        """Send 35=AN and 35=BB for `account`; the request id the answers are collected under."""
        request_id = f"{self.venue}-pos-{int(time.time())}-{next(self._ids)}"
        inquiry_id = f"{request_id}-coll"
        with self._changed:
            self._answers[request_id] = AccountAnswer(request_id)
            self._by_inquiry[inquiry_id] = request_id
        now = utc_now()
        self._send(request_for_positions(request_id, account, now.date(), now))
        self._send(collateral_inquiry(inquiry_id, account))
        return request_id

    def wait(self, request_id: str, timeout: float) -> AccountAnswer | None:
        """The complete answer, or None when it did not complete within `timeout` seconds (any thread)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                answer = self._answers.get(request_id)
                if answer is not None and answer.complete:
                    return self._answers.pop(request_id)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def on_message(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        """From the QuickFIX thread: an AO, AP or BA."""
        values = dict(fields)
        try:
            with self._changed:
                if msg_type == "BA":
                    line = parse_collateral_report(fields)
                    answer = self._answers.get(self._by_inquiry.get(line.inquiry_id, ""))
                    if answer is not None:
                        answer.collateral.append(line)
                        answer.collateral_done = True
                else:
                    answer = self._answers.get(values.get(710, ""))
                    if answer is not None:
                        total = values.get(727, "")
                        if total.isdigit():
                            answer.expected = int(total)
                        if msg_type == "AP":
                            answer.positions.append(parse_position_report(fields))
                self._changed.notify_all()
        except PositionMessageError as exc:
            log.error("broker.account_data_unreadable", venue=self.venue, msg_type=msg_type, error=str(exc))
