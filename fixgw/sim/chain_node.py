"""A local chain node for tests and demos: one real HTTP server on loopback answering both JSON-RPC dialects
transfer reconciliation reads - Bitcoin Core (`getrawtransaction` verbose, `getblockcount`, `getblockhash`,
`getblockheader`, `getblock` verbosity 2) and Ethereum (`eth_blockNumber`, `eth_getTransactionByHash`,
`eth_getTransactionReceipt`, `eth_getBlockByNumber`, `eth_getLogs` for ERC-20 `Transfer` logs). Methods named
`eth_*` speak Ethereum (JSON-RPC 2.0), the rest Bitcoin Core (1.0: an error answer is HTTP 500, as Core does).

Blocks are evenly spaced back from the tip, which is mined at `anchor`. Faults on demand, per transaction:
`missing` (the node does not know it), `wrong_amount` (every amount one smallest unit short),
`few_confirmations` (mined in the tip block: one confirmation).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from fixgw.sim.crypto_pb.jsonio import Num, dumps

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
FAULTS = ("missing", "wrong_amount", "few_confirmations")
SATOSHI = Decimal("0.00000001")


def _key(tx_hash: str) -> str:
    return tx_hash.lower().removeprefix("0x")


@dataclass
class SimBitcoinTx:
    txid: str
    outputs: list[tuple[str, Decimal]]
    """(address, BTC) per output."""
    height: int | None
    """None: still in the mempool."""


@dataclass
class SimEthereumTx:
    tx_hash: str
    sender: str
    to: str
    value_wei: int
    height: int | None
    token_transfers: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(contract, from, to, amount in the token's smallest unit) per ERC-20 Transfer log."""
    status: int = 1
    gas_used: int = 21_000
    gas_price_wei: int = 30_000_000_000


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChainNodeSimulator:
    def __init__(self, *, anchor: datetime, bitcoin_tip: int = 800_000, ethereum_tip: int = 20_000_000,
                 bitcoin_interval_s: int = 600, ethereum_interval_s: int = 12, rpc_user: str | None = None,
                 rpc_password: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.anchor = int(anchor.timestamp())
        self.bitcoin_tip, self.ethereum_tip = bitcoin_tip, ethereum_tip
        self.bitcoin_interval_s, self.ethereum_interval_s = bitcoin_interval_s, ethereum_interval_s
        self.rpc_user, self.rpc_password = rpc_user, rpc_password
        self.bitcoin: dict[str, SimBitcoinTx] = {}
        self.ethereum: dict[str, SimEthereumTx] = {}
        self.faults: dict[str, set[str]] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> ChainNodeSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="chain-node-sim", daemon=True)
        self._thread.start()
        body = {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []}
        httpx.post(self.url, json=body, timeout=timeout_s, auth=self._auth()).raise_for_status()   # ready
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> ChainNodeSimulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _auth(self) -> tuple[str, str] | None:
        return (self.rpc_user, self.rpc_password or "") if self.rpc_user else None

    # --- test set-up --------------------------------------------------------------------------------------

    def add_bitcoin_tx(self, txid: str, outputs: list[tuple[str, Decimal]], *, confirmations: int = 6) -> None:
        height = self.bitcoin_tip - confirmations + 1 if confirmations > 0 else None
        with self._lock:
            self.bitcoin[_key(txid)] = SimBitcoinTx(txid, outputs, height)

    def add_ethereum_tx(self, tx_hash: str, *, sender: str, to: str, value_wei: int = 0, confirmations: int = 12,
                        token_transfers: list[tuple[str, str, str, int]] | None = None, status: int = 1) -> None:
        height = self.ethereum_tip - confirmations + 1 if confirmations > 0 else None
        with self._lock:
            self.ethereum[_key(tx_hash)] = SimEthereumTx(tx_hash, sender, to, value_wei, height,
                                                         list(token_transfers or []), status)

    def fault(self, tx_hash: str, kind: str) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r} (one of {', '.join(FAULTS)})")
        with self._lock:
            self.faults.setdefault(_key(tx_hash), set()).add(kind)

    def clear(self) -> None:
        with self._lock:
            self.bitcoin.clear()
            self.ethereum.clear()
            self.faults.clear()

    def bitcoin_block_time(self, height: int) -> int:
        return self.anchor - (self.bitcoin_tip - height) * self.bitcoin_interval_s

    def ethereum_block_time(self, height: int) -> int:
        return self.anchor - (self.ethereum_tip - height) * self.ethereum_interval_s

    # --- dispatch -----------------------------------------------------------------------------------------

    def answer(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            handler = getattr(self, f"_rpc_{method}", None)
            if handler is None:
                raise RpcFailure(-32601, f"Method not found: {method}")
            return handler(*params)

    def _has(self, tx_hash: str, kind: str) -> bool:
        return kind in self.faults.get(_key(tx_hash), set())

    # --- Bitcoin Core -------------------------------------------------------------------------------------

    def _btc_height(self, tx: SimBitcoinTx) -> int | None:
        return self.bitcoin_tip if self._has(tx.txid, "few_confirmations") and tx.height is not None else tx.height

    def _btc_verbose(self, tx: SimBitcoinTx) -> dict[str, Any]:
        short = SATOSHI if self._has(tx.txid, "wrong_amount") else Decimal(0)
        found: dict[str, Any] = {"txid": tx.txid, "hash": tx.txid, "version": 2, "vin": [], "vout": [
            {"value": Num(value - short), "n": n, "scriptPubKey": {"address": address, "type": "witness_v0_keyhash"}}
            for n, (address, value) in enumerate(tx.outputs)]}
        height = self._btc_height(tx)
        if height is not None:
            found.update(blockhash=f"{height:064x}", confirmations=self.bitcoin_tip - height + 1,
                         time=self.bitcoin_block_time(height), blocktime=self.bitcoin_block_time(height))
        return found

    def _rpc_getblockcount(self) -> int:
        return self.bitcoin_tip

    def _rpc_getrawtransaction(self, txid: str, verbose: Any = False, *_: Any) -> Any:
        tx = self.bitcoin.get(_key(txid))
        if tx is None or self._has(txid, "missing"):
            raise RpcFailure(-5, "No such mempool or blockchain transaction. "
                                 "Use gettransaction for wallet transactions.")
        if not verbose:
            raise RpcFailure(-8, "the simulator serves verbose transactions only")
        return self._btc_verbose(tx)

    def _height_of(self, block_hash: str) -> int:
        try:
            height = int(block_hash, 16)
        except ValueError:
            raise RpcFailure(-8, "blockhash must be hexadecimal") from None
        if not 0 <= height <= self.bitcoin_tip:
            raise RpcFailure(-5, "Block not found")
        return height

    def _rpc_getblockhash(self, height: int) -> str:
        if not 0 <= int(height) <= self.bitcoin_tip:
            raise RpcFailure(-8, "Block height out of range")
        return f"{int(height):064x}"

    def _rpc_getblockheader(self, block_hash: str, *_: Any) -> dict[str, Any]:
        height = self._height_of(block_hash)
        return {"hash": block_hash, "height": height, "time": self.bitcoin_block_time(height),
                "confirmations": self.bitcoin_tip - height + 1}

    def _rpc_getblock(self, block_hash: str, verbosity: int = 1) -> dict[str, Any]:
        height = self._height_of(block_hash)
        txs = [tx for tx in self.bitcoin.values()
               if self._btc_height(tx) == height and not self._has(tx.txid, "missing")]
        return {"hash": block_hash, "height": height, "time": self.bitcoin_block_time(height),
                "tx": [self._btc_verbose(tx) if int(verbosity) >= 2 else tx.txid for tx in txs]}

    # --- Ethereum -----------------------------------------------------------------------------------------

    def _eth_height(self, tx: SimEthereumTx) -> int | None:
        return self.ethereum_tip if self._has(tx.tx_hash, "few_confirmations") and tx.height is not None else tx.height

    def _eth_tx(self, tx_hash: str) -> SimEthereumTx | None:
        tx = self.ethereum.get(_key(tx_hash))
        return None if tx is None or self._has(tx_hash, "missing") else tx

    def _rpc_eth_blockNumber(self) -> str:
        return hex(self.ethereum_tip)

    def _rpc_eth_getTransactionByHash(self, tx_hash: str) -> dict[str, Any] | None:
        tx = self._eth_tx(tx_hash)
        if tx is None:
            return None
        short = 1 if self._has(tx.tx_hash, "wrong_amount") and tx.value_wei else 0
        height = self._eth_height(tx)
        return {"hash": tx.tx_hash, "from": tx.sender, "to": tx.to, "value": hex(tx.value_wei - short),
                "blockNumber": None if height is None else hex(height), "gasPrice": hex(tx.gas_price_wei),
                "input": "0x" if not tx.token_transfers else "0xa9059cbb"}

    def _logs(self, tx: SimEthereumTx) -> list[dict[str, Any]]:
        short = 1 if self._has(tx.tx_hash, "wrong_amount") else 0
        height = self._eth_height(tx)
        return [{"address": contract, "topics": [TRANSFER_TOPIC, "0x" + "0" * 24 + sender.lower().removeprefix("0x"),
                                                 "0x" + "0" * 24 + payee.lower().removeprefix("0x")],
                 "data": "0x" + format(amount - short, "064x"), "transactionHash": tx.tx_hash,
                 "blockNumber": None if height is None else hex(height), "logIndex": hex(index), "removed": False}
                for index, (contract, sender, payee, amount) in enumerate(tx.token_transfers)]

    def _rpc_eth_getTransactionReceipt(self, tx_hash: str) -> dict[str, Any] | None:
        tx = self._eth_tx(tx_hash)
        height = None if tx is None else self._eth_height(tx)
        if tx is None or height is None:
            return None
        return {"transactionHash": tx.tx_hash, "status": hex(tx.status), "blockNumber": hex(height),
                "gasUsed": hex(tx.gas_used), "effectiveGasPrice": hex(tx.gas_price_wei), "from": tx.sender,
                "to": tx.to, "logs": self._logs(tx) if tx.status == 1 else []}

    def _rpc_eth_getBlockByNumber(self, number: str, _full: bool = False) -> dict[str, Any] | None:
        height = self.ethereum_tip if number == "latest" else int(number, 16)
        if not 0 <= height <= self.ethereum_tip:
            return None
        return {"number": hex(height), "timestamp": hex(self.ethereum_block_time(height)), "transactions": []}

    def _rpc_eth_getLogs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        first, last = int(query.get("fromBlock", "0x0"), 16), int(query.get("toBlock", hex(self.ethereum_tip)), 16)
        contracts = query.get("address") or []
        contracts = {c.lower() for c in ([contracts] if isinstance(contracts, str) else contracts)}
        topics = query.get("topics") or []
        payees = topics[2] if len(topics) > 2 and topics[2] is not None else None
        payees = None if payees is None else {p.lower() for p in ([payees] if isinstance(payees, str) else payees)}
        found = []
        for tx in self.ethereum.values():
            if self._has(tx.tx_hash, "missing") or tx.status != 1:
                continue
            for log in self._logs(tx):
                height = int(log["blockNumber"], 16) if log["blockNumber"] else None
                if height is None or not first <= height <= last:
                    continue
                if contracts and log["address"].lower() not in contracts:
                    continue
                if topics and topics[0] is not None and log["topics"][0] != topics[0]:
                    continue
                if payees is not None and log["topics"][2].lower() not in payees:
                    continue
                found.append(log)
        return found


def _handler(node: ChainNodeSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            if node.rpc_user is not None and not self._authorised():
                self._send(401, b"")
                return
            length = int(self.headers.get("content-length") or 0)
            try:
                request = json.loads(self.rfile.read(length), parse_float=Decimal)
            except ValueError:
                self._json(200, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
                return
            if isinstance(request, list):
                self._json(200, [self._one(item) for item in request])
                return
            answer = self._one(request)
            bitcoin_error = answer.get("error") and not str(request.get("method", "")).startswith("eth_")
            self._json(500 if bitcoin_error else 200, answer)

        def _one(self, request: dict[str, Any]) -> dict[str, Any]:
            method = str(request.get("method", ""))
            version = request.get("jsonrpc", "1.0")
            try:
                result = node.answer(method, list(request.get("params") or []))
            except RpcFailure as exc:
                error = {"code": exc.code, "message": exc.message}
                return {"jsonrpc": version, "id": request.get("id"), "error": error} | (
                    {} if method.startswith("eth_") else {"result": None})
            except (TypeError, ValueError) as exc:
                return {"jsonrpc": version, "id": request.get("id"), "result": None,
                        "error": {"code": -32602, "message": f"Invalid params: {exc}"}}
            answer = {"jsonrpc": version, "id": request.get("id"), "result": result}
            return answer if method.startswith("eth_") else answer | {"error": None}

        def _authorised(self) -> bool:
            expected = base64.b64encode(f"{node.rpc_user}:{node.rpc_password or ''}".encode()).decode()
            return self.headers.get("authorization", "") == f"Basic {expected}"

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, dumps(payload).encode())

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
