"""Account data from a FIX broker session for the margin service: RequestForPositions (35=AN) and
CollateralInquiry (35=BB) sent through the gateway's broker session (fixgw/engine/broker_account.py), the answers
read into an AccountSnapshot - positions as held (long) or short quantities of their symbol, the collateral
report's cash outstanding as the account currency (negative: borrowed), settlement prices as the broker's marks,
TotalNetValue as the figure drift compares with (ours computed without haircuts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.margin.settings import MarginVenueConfig
from fixgw.model.margin import Balance, Pool, VenueAccount
from fixgw.model.margin_snapshot import AccountSnapshot

ANSWER_TIMEOUT_S = 10.0
_ZERO = Decimal(0)


class _NoClient:
    async def aclose(self) -> None:
        """The broker session belongs to the gateway."""


def fix_broker_factory(name: str, venue: Callable[[], Any], settings: MarginVenueConfig) -> Callable[[], Any]:
    def make() -> tuple[Callable[[datetime], Any], Any]:
        async def fetch(now: datetime) -> AccountSnapshot:
            broker = venue()
            if broker is None or not broker.connected:
                raise ConnectionError(f"broker session {name} is not logged on")
            collector = broker.account_data
            request_id = collector.request(settings.account)
            answer = await asyncio.get_running_loop().run_in_executor(None, collector.wait, request_id,
                                                                      ANSWER_TIMEOUT_S)
            if answer is None:
                raise TimeoutError(f"{name}: no complete positions / collateral answer to {request_id}")
            return snapshot_from_answer(name, now, answer, settings)

        return fetch, _NoClient()
    return make


def snapshot_from_answer(name: str, now: datetime, answer: Any, settings: MarginVenueConfig) -> AccountSnapshot:
    balances: dict[str, Balance] = {}
    marks: dict[str, Decimal] = {}
    for line in answer.positions:
        held = balances.get(line.symbol)
        net = line.net + (held.held - held.borrowed if held is not None else _ZERO)
        balances[line.symbol] = Balance(line.symbol, net)          # a short is a negative holding
        if line.settl_price is not None:
            marks[line.symbol] = line.settl_price
    reported: dict[str, str] = {}
    for line in answer.collateral:
        if line.cash_outstanding is not None:
            cash = line.cash_outstanding
            balances[settings.currency] = Balance(settings.currency, max(cash, _ZERO), max(-cash, _ZERO))
            reported["cash_outstanding"] = str(cash)
        if line.total_net_value is not None:
            reported["total_net_value"] = str(line.total_net_value)
        if line.margin_excess is not None:
            reported["margin_excess"] = str(line.margin_excess)
    account = VenueAccount(name, settings.currency, settings.margin_mode,
                           (Pool("account", tuple(balances[key] for key in sorted(balances))),))
    return AccountSnapshot(name, now, account, reported, "total_net_value" if "total_net_value" in reported
                           else None, marks=marks)
