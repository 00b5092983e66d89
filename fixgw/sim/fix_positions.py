"""The FIX broker simulator's answers to RequestForPositions (35=AN -> one PositionReport 35=AP per symbol, or a
RequestForPositionsAck 35=AO when there is none) and CollateralInquiry (35=BB -> CollateralReport 35=BA), from
its standing executions: positions per account and symbol at the last fill price, cash = start cash - buys +
sells (FIX 4.4 sessions; the messages are not in FIX 4.2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from fixgw.fix.positions import collateral_report, position_report, positions_ack
from fixgw.sim.broker_book import ExecutionSnapshot, Reply

ACCOUNT_REQUESTS = frozenset({"AN", "BB"})


def answer(session: str, msg_type: str, fields: Sequence[tuple[int, str]], executions: Sequence[ExecutionSnapshot],
           start_cash: Decimal) -> list[Reply]:
    values = dict(fields)
    account = values.get(1, "")
    mine = [e for e in executions if (e.account or "") == account]
    if msg_type == "BB":
        cash = start_cash + sum(((-e.qty if e.side == "1" else e.qty) * e.price for e in mine), Decimal(0))
        last = _positions(mine)
        value = cash + sum((net * price for net, price in last.values()), Decimal(0))
        inquiry = values.get(909, "")
        return [Reply(session, collateral_report(f"COLL-{inquiry}", inquiry, account, "USD", value, cash))]
    request_id = values.get(710, "")
    positions = _positions(mine)
    day = datetime.now(UTC).date()
    if not positions:
        return [Reply(session, positions_ack(f"ACK-{request_id}", request_id, 0, account))]
    replies = [Reply(session, positions_ack(f"ACK-{request_id}", request_id, len(positions), account))]
    for number, (symbol, (net, price)) in enumerate(sorted(positions.items()), start=1):
        replies.append(Reply(session, position_report(
            f"POS-{request_id}-{number}", request_id, len(positions), account, symbol, max(net, Decimal(0)),
            max(-net, Decimal(0)), price, day)))
    return replies


def _positions(executions: Sequence[ExecutionSnapshot]) -> dict[str, tuple[Decimal, Decimal]]:
    found: dict[str, tuple[Decimal, Decimal]] = {}
    for execution in executions:
        net, _ = found.get(execution.symbol, (Decimal(0), execution.price))
        net += execution.qty if execution.side == "1" else -execution.qty
        found[execution.symbol] = (net, execution.price)
    return found
