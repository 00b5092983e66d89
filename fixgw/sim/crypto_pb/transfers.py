"""Deposits and withdrawals in the simulator, each venue's listing in its own wire shape (see
fixgw/venues/bridge/<venue>/transfers.py for the fields): Coinbase Prime `GET
/v1/portfolios/{id}/transactions`, Binance `GET /sapi/v1/capital/deposit/hisrec` and `/withdraw/history`,
FalconX `GET /v1/transfers`; tests add transfers through `POST /_sim/transfers` (`add_transfer`).

These routes sit at the top level, ahead of the venues' mounts (a mount takes every path under its prefix).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixgw.sim.crypto_pb import binance, coinbase, falconx
from fixgw.sim.crypto_pb.jsonio import DecimalJSONResponse, Num, dumps, loads
from fixgw.sim.crypto_pb.routing import SimReply
from fixgw.sim.crypto_pb.state import SimState

_COINBASE_STATUS = {"completed": "TRANSACTION_DONE", "pending": "TRANSACTION_BROADCASTING",
                    "failed": "TRANSACTION_FAILED"}
_DEPOSIT_STATUS = {"completed": 1, "pending": 0, "failed": 2}
_WITHDRAW_STATUS = {"completed": 6, "pending": 4, "failed": 5}
_ids = itertools.count(1)


def _rows(request: Request) -> list[dict[str, Any]]:
    app_state = request.app.state
    if not hasattr(app_state, "sim_transfers"):
        app_state.sim_transfers = []
    rows: list[dict[str, Any]] = app_state.sim_transfers
    return rows


def _at(row: dict[str, Any], name: str) -> datetime | None:
    value = row.get(name)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _chosen(request: Request, venue: str, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    return [row for row in _rows(request) if row["venue"] == venue
            and (start is None or _at(row, "created_at") >= start)  # type: ignore[operator]
            and (end is None or _at(row, "created_at") < end)]  # type: ignore[operator]


# --- Coinbase Prime -------------------------------------------------------------------------------------------

def coinbase_transactions(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    params = request.query_params
    types = set(params.getlist("types"))
    rows = [row for row in _chosen(request, "coinbase", _at(dict(params), "start_time"), _at(dict(params), "end_time"))
            if row.get("account") in (None, account) and (not types or row["direction"].upper() in types)]
    page, pagination = coinbase._page(request, [_coinbase(row) for row in rows])
    return SimReply({"transactions": page, "pagination": pagination})


def _coinbase(row: dict[str, Any]) -> dict[str, Any]:
    done = row["status"] == "completed"
    return {"id": row["id"], "wallet_id": "sim-wallet", "portfolio_id": row.get("account") or "",
            "type": row["direction"].upper(), "status": _COINBASE_STATUS[row["status"]], "symbol": row["asset"],
            "created_at": row["created_at"], "completed_at": row["created_at"] if done else None,
            "amount": Decimal(row["amount"]), "fees": Decimal(0), "network_fees": Decimal(row.get("fee") or "0"),
            "fee_symbol": row["asset"], "blockchain_ids": [row["tx_hash"]] if row.get("tx_hash") else [],
            "transaction_id": row["id"][:8], "destination_symbol": row["asset"], "network": row["network"],
            "transfer_from": {"type": "ADDRESS", "value": row.get("from_address", ""),
                              "address": row.get("from_address", "")},
            "transfer_to": {"type": "ADDRESS", "value": row["address"], "address": row["address"]}}


# --- Binance --------------------------------------------------------------------------------------------------

def _millis(text: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(text) / 1000, UTC) if text else None


def _binance(request: Request, body: bytes, direction: str) -> list[dict[str, Any]]:
    params = binance._params(request, body)
    start, end = _millis(params.get("startTime")), _millis(params.get("endTime"))
    end = None if end is None else datetime.fromtimestamp(end.timestamp() + 0.001, UTC)   # endTime is inclusive
    rows = [row for row in _chosen(request, "binance", start, end) if row["direction"] == direction]
    offset, limit = int(params.get("offset", "0")), min(int(params.get("limit", "1000")), 1000)
    return rows[offset:offset + limit]


def binance_deposits(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    return SimReply([{"id": row["id"], "amount": Decimal(row["amount"]), "coin": row["asset"],
                      "network": row["network"], "status": _DEPOSIT_STATUS[row["status"]], "address": row["address"],
                      "addressTag": "", "txId": row.get("tx_hash") or "",
                      "insertTime": int(_at(row, "created_at").timestamp() * 1000),  # type: ignore[union-attr]
                      "transferType": 0, "confirmTimes": "12/12", "unlockConfirm": 0, "walletType": 0}
                     for row in _binance(request, body, "deposit")])


def binance_withdrawals(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    def utc(row: dict[str, Any]) -> str:
        return _at(row, "created_at").strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]

    return SimReply([{"id": row["id"], "amount": Decimal(row["amount"]),
                      "transactionFee": Decimal(row.get("fee") or "0"), "coin": row["asset"],
                      "status": _WITHDRAW_STATUS[row["status"]], "address": row["address"],
                      "txId": row.get("tx_hash") or "", "applyTime": utc(row), "network": row["network"],
                      "transferType": 0, "info": "", "confirmNo": 12, "walletType": 1,
                      **({"completeTime": utc(row)} if row["status"] == "completed" else {})}
                     for row in _binance(request, body, "withdrawal")])


# --- FalconX --------------------------------------------------------------------------------------------------

def falconx_transfers(request: Request, body: bytes, account: str, state: SimState) -> SimReply:
    params = request.query_params
    rows = _chosen(request, "falconx", _at(dict(params), "t_start"), _at(dict(params), "t_end"))
    return SimReply([{"type": row["direction"], "platform": "api", "token": row["asset"],
                      "quantity": Num(row["amount"]), "t_create": row["created_at"]} for row in rows])


def _falconx_endpoint(route: str, handler: Any) -> Any:
    inner = falconx._endpoint(route, handler)

    async def endpoint(request: Request) -> Response:
        request.scope["root_path"] = "/falconx"   # as under the FalconX mount: the signature covers /v1/...
        response: Response = await inner(request)
        return response

    return endpoint


# --- control --------------------------------------------------------------------------------------------------

async def add(request: Request) -> Response:
    """Body: {venue: coinbase|binance|falconx, account?, direction: deposit|withdrawal, asset, network, amount,
    address, tx_hash?, status: completed|pending|failed, created_at (ISO), fee?, id?}."""
    row = loads(await request.body())
    row = {key: (str(value) if isinstance(value, Decimal) else value) for key, value in row.items()}
    row.setdefault("id", f"sim-transfer-{next(_ids)}")
    _rows(request).append(row)
    return DecimalJSONResponse({"id": row["id"]}, status_code=201)


async def clear(request: Request) -> Response:
    _rows(request).clear()
    return DecimalJSONResponse({"cleared": True})


def add_transfer(base_url: str, **fields: Any) -> str:
    """Test helper: one transfer at the simulator at `base_url` (its `_sim` control API)."""
    payload = {key: (str(value) if isinstance(value, Decimal | datetime) else value) for key, value in fields.items()}
    response = httpx.post(f"{base_url}/_sim/transfers", content=dumps(payload), timeout=10.0)
    response.raise_for_status()
    return str(response.json()["id"])


def clear_transfers(base_url: str) -> None:
    httpx.delete(f"{base_url}/_sim/transfers", timeout=10.0).raise_for_status()


routes = [
    Route("/_sim/transfers", add, methods=["POST"]),
    Route("/_sim/transfers", clear, methods=["DELETE"]),
    Route("/v1/portfolios/{portfolio_id}/transactions",
          coinbase._endpoint("coinbase.transactions", coinbase_transactions), methods=["GET"]),
    Route("/binance/sapi/v1/capital/deposit/hisrec", binance._endpoint("binance.deposit_history", binance_deposits),
          methods=["GET"]),
    Route("/binance/sapi/v1/capital/withdraw/history",
          binance._endpoint("binance.withdraw_history", binance_withdrawals), methods=["GET"]),
    Route("/falconx/v1/transfers", _falconx_endpoint("falconx.transfers", falconx_transfers), methods=["GET"]),
]
