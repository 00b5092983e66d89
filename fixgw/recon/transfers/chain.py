"""On-chain sources, one per configured network: a node's JSON-RPC (Bitcoin Core, Ethereum) or a block
explorer's CSV export. Each looks transactions up by hash and finds the day's inflows to our watched addresses.

Wire facts relied on:
- Bitcoin Core JSON-RPC 1.0 (POST `{"jsonrpc": "1.0", "id", "method", "params"}`, HTTP basic auth; batches are
  JSON arrays): `getrawtransaction [txid, true]` -> `{"txid", "vout": [{"value": BTC as a JSON number,
  "n", "scriptPubKey": {"address"} (older: "addresses": [...])}], "blockhash", "blocktime", "confirmations"}`,
  error code -5 for an unknown transaction; `getblockheader [hash]` -> `{"height", "time"}`; `getblockcount`
  (the tip); `getblockhash [height]`; `getblock [hash, 2]` -> `{"height", "time", "tx": [verbose txs]}`.
  Confirmations are counted here against the tip: tip - height + 1 (0 in the mempool).
- Ethereum JSON-RPC 2.0: `eth_getTransactionByHash` (null when unknown) -> `{"hash", "from", "to",
  "value": hex wei, "blockNumber": hex or null}`; `eth_getTransactionReceipt` -> `{"status": "0x1" | "0x0",
  "blockNumber", "gasUsed", "effectiveGasPrice", "logs": [{"address": contract, "topics", "data",
  "transactionHash", "blockNumber"}]}`; `eth_blockNumber` (the tip); `eth_getBlockByNumber [hex, false]` ->
  `{"timestamp": hex seconds}`; `eth_getLogs {fromBlock, toBlock, address, topics}`. An ERC-20 transfer is a
  log with topic0 = keccak256("Transfer(address,address,uint256)") = TRANSFER_TOPIC, topics 1 and 2 the
  sender and payee (left-padded to 32 bytes), data the amount in the token's smallest unit.
- Explorer CSV (Etherscan's export): "Transaction Hash" (or "Txhash"), "Blockno", "UnixTimestamp", "From", "To",
  "TokenValue" / "Value_IN(ETH)" / "Value" (units, thousands separators allowed), "TokenSymbol"; an optional
  "Confirmations" column, else a listed transaction counts as confirmed (min_confirmations).
Every JSON answer is parsed with parse_float=Decimal; hex amounts go int -> Decimal scaled by the decimals,
exactly.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import httpx

from fixgw.recon.transfers.matching import hash_key
from fixgw.recon.transfers.records import ChainTransfer, ChainTx, WatchedInflow, same_address
from fixgw.recon.transfers.settings import ChainNetworkConfig

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
BITCOIN_NOT_FOUND = -5
BLOCK_TIME_SLACK = timedelta(hours=2)
"""Bitcoin block times may run up to two hours ahead of the median: keep walking back that much further."""


class ChainSourceError(Exception):
    """The chain source could not be read (node unreachable, error answer, unreadable CSV)."""


class ChainSource(Protocol):
    network: str
    description: str

    def lookup(self, tx_hashes: Iterable[str]) -> dict[str, ChainTx | None]:
        """hash_key -> the transaction, or None where the chain does not know it."""

    def watched_inflows(self, start: datetime, end: datetime) -> list[WatchedInflow]:
        """Transfers into watched addresses mined in [start, end)."""

    def close(self) -> None: ...


def units(raw: int, decimals: int) -> Decimal:
    """An integer amount in the smallest unit (wei, satoshi, token units) as an exact Decimal."""
    return Decimal(f"{raw}E-{decimals}") if decimals else Decimal(raw)


def _hex(value: Any) -> int:
    return int(str(value), 16)


class JsonRpc:
    """A JSON-RPC client over httpx: one call, or a batch (an array) answered in any order."""

    def __init__(self, url: str, *, version: str, timeout_s: float, auth: tuple[str, str] | None = None) -> None:
        self.url = url
        self.version = version
        self.client = httpx.Client(timeout=timeout_s, auth=auth)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        [answer] = self.batch([(method, params)], single=True)
        if isinstance(answer, RpcError):
            raise ChainSourceError(f"{self.url}: {method}: {answer}")
        return answer

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, single: bool = False) -> list[Any]:
        """Results in the order of `calls`; an error answer is an RpcError in its place."""
        if not calls:
            return []
        requests = [{"jsonrpc": self.version, "id": next(self._ids), "method": method, "params": list(params)}
                    for method, params in calls]
        body = requests[0] if single else requests
        try:
            response = self.client.post(self.url, content=json.dumps(body),
                                        headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            raise ChainSourceError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        try:   # Bitcoin Core answers errors with HTTP 500 and a JSON body: read the body first
            answers = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise ChainSourceError(f"{self.url}: HTTP {response.status_code}, not JSON") from None
        by_id = {a.get("id"): a for a in (answers if isinstance(answers, list) else [answers]) if isinstance(a, dict)}
        results = []
        for request in requests:
            answer = by_id.get(request["id"])
            if answer is None:
                raise ChainSourceError(f"{self.url}: no answer to {request['method']} (HTTP {response.status_code})")
            error = answer.get("error")
            results.append(RpcError(error) if error else answer.get("result"))
        return results


class RpcError:
    def __init__(self, error: Any) -> None:
        self.code = error.get("code") if isinstance(error, dict) else None
        self.message = error.get("message") if isinstance(error, dict) else str(error)

    def __str__(self) -> str:
        return f"error {self.code}: {self.message}"


def _auth(network: ChainNetworkConfig) -> tuple[str, str] | None:
    if network.username is None:
        return None
    from fixgw.secretref import SecretReferenceError, resolve_secret

    try:
        password = str(resolve_secret(network.password)) if network.password else ""
    except SecretReferenceError as exc:
        raise ChainSourceError(f"{network.url}: password: {exc}") from None
    return network.username, password


class BitcoinRpc:
    def __init__(self, key: str, network: ChainNetworkConfig) -> None:
        assert network.url is not None
        self.network, self.config = key, network
        self.asset, self.decimals = network.asset(), network.decimals()
        self.rpc = JsonRpc(network.url, version="1.0", timeout_s=network.timeout_s, auth=_auth(network))
        self.description = f"{key}: bitcoin_rpc {network.url}"
        self._tip: int | None = None

    def close(self) -> None:
        self.rpc.close()

    def tip(self) -> int:
        if self._tip is None:
            self._tip = int(self.rpc.call("getblockcount"))
        return self._tip

    def lookup(self, tx_hashes: Iterable[str]) -> dict[str, ChainTx | None]:
        wanted = sorted({hash_key(h) for h in tx_hashes})
        found: dict[str, ChainTx | None] = {}
        answers = self.rpc.batch([("getrawtransaction", [h, True]) for h in wanted])
        blocks = {a["blockhash"] for a in answers if isinstance(a, dict) and a.get("blockhash")}
        headers = dict(zip(sorted(blocks), self.rpc.batch([("getblockheader", [b]) for b in sorted(blocks)]),
                           strict=True))
        for key, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, RpcError):
                if answer.code != BITCOIN_NOT_FOUND:
                    raise ChainSourceError(f"{self.description}: getrawtransaction {key}: {answer}")
                found[key] = None
                continue
            header = headers.get(answer.get("blockhash"))
            height = header.get("height") if isinstance(header, dict) else None
            found[key] = self._tx(answer, None if height is None else int(height))
        return found

    def _tx(self, tx: dict[str, Any], height: int | None) -> ChainTx:
        moves = []
        for out in tx.get("vout") or []:
            script = out.get("scriptPubKey") or {}
            address = script.get("address") or next(iter(script.get("addresses") or []), "")
            moves.append(ChainTransfer(self.asset, Decimal(out["value"]), str(address)))
        when = tx.get("blocktime") or tx.get("time")
        fee = tx.get("fee")
        return ChainTx(self.network, str(tx["txid"]), tuple(moves),
                       0 if height is None else max(0, self.tip() - height + 1),
                       datetime.fromtimestamp(int(when), UTC) if when else None,
                       None if fee is None else Decimal(fee), True, f"{self.description} getrawtransaction")

    def watched_inflows(self, start: datetime, end: datetime) -> list[WatchedInflow]:
        """Walk back from the tip, `scan_batch` blocks per JSON-RPC batch, until blocks are older than the day."""
        watched = self.config.watched_addresses
        if not watched:
            return []
        inflows: list[WatchedInflow] = []
        height = self.tip()
        floor = start - BLOCK_TIME_SLACK
        while height >= 0:
            heights = list(range(height, max(-1, height - self.config.scan_batch), -1))
            hashes = self.rpc.batch([("getblockhash", [h]) for h in heights])
            blocks = self.rpc.batch([("getblock", [h, 2]) for h in hashes if not isinstance(h, RpcError)])
            oldest = None
            for block in blocks:
                if isinstance(block, RpcError):
                    raise ChainSourceError(f"{self.description}: getblock: {block}")
                mined = datetime.fromtimestamp(int(block["time"]), UTC)
                oldest = mined if oldest is None else min(oldest, mined)
                if not start <= mined < end:
                    continue
                for tx in block.get("tx") or []:
                    chain_tx = self._tx({**tx, "blocktime": block["time"]}, int(block["height"]))
                    inflows += [WatchedInflow(chain_tx, move) for move in chain_tx.transfers
                                if any(same_address(move.to_address, mine) for mine in watched)]
            if oldest is None or oldest < floor:
                return inflows
            height = heights[-1] - 1
        return inflows


class EthereumRpc:
    def __init__(self, key: str, network: ChainNetworkConfig) -> None:
        assert network.url is not None
        self.network, self.config = key, network
        self.asset, self.decimals = network.asset(), network.decimals()
        self.tokens = {token.contract.lower(): (symbol, token.decimals) for symbol, token in network.tokens.items()}
        self.rpc = JsonRpc(network.url, version="2.0", timeout_s=network.timeout_s, auth=_auth(network))
        self.description = f"{key}: ethereum_rpc {network.url}"
        self._tip: int | None = None

    def close(self) -> None:
        self.rpc.close()

    def tip(self) -> int:
        if self._tip is None:
            self._tip = _hex(self.rpc.call("eth_blockNumber"))
        return self._tip

    def _confirmations(self, block: Any) -> int:
        return 0 if block in (None, "") else max(0, self.tip() - _hex(block) + 1)

    def lookup(self, tx_hashes: Iterable[str]) -> dict[str, ChainTx | None]:
        wanted = sorted({hash_key(h) for h in tx_hashes})
        calls: list[tuple[str, Sequence[Any]]] = []
        for key in wanted:
            calls += [("eth_getTransactionByHash", [f"0x{key}"]), ("eth_getTransactionReceipt", [f"0x{key}"])]
        answers = self.rpc.batch(calls)
        for answer in answers:
            if isinstance(answer, RpcError):
                raise ChainSourceError(f"{self.description}: {answer}")
        found: dict[str, ChainTx | None] = {}
        for index, key in enumerate(wanted):
            tx, receipt = answers[2 * index], answers[2 * index + 1]
            found[key] = None if not tx else self._tx(tx, receipt)
        return found

    def _tx(self, tx: dict[str, Any], receipt: dict[str, Any] | None) -> ChainTx:
        moves: list[ChainTransfer] = []
        value = _hex(tx.get("value") or "0x0")
        if value and tx.get("to"):
            moves.append(ChainTransfer(self.asset, units(value, self.decimals), str(tx["to"]), str(tx.get("from", ""))))
        fee = None
        if receipt:
            moves += [move for log in receipt.get("logs") or [] if (move := self._token_move(log)) is not None]
            price = receipt.get("effectiveGasPrice") or tx.get("gasPrice")
            if receipt.get("gasUsed") and price:
                fee = units(_hex(receipt["gasUsed"]) * _hex(price), self.decimals)
        succeeded = receipt is None or _hex(receipt.get("status") or "0x1") == 1
        return ChainTx(self.network, str(tx["hash"]), tuple(moves) if succeeded else (),
                       self._confirmations((receipt or tx).get("blockNumber")), None, fee, succeeded,
                       f"{self.description} eth_getTransactionByHash/eth_getTransactionReceipt")

    def _token_move(self, log: dict[str, Any]) -> ChainTransfer | None:
        topics = log.get("topics") or []
        token = self.tokens.get(str(log.get("address", "")).lower())
        if token is None or len(topics) != 3 or str(topics[0]).lower() != TRANSFER_TOPIC:
            return None
        symbol, decimals = token
        return ChainTransfer(symbol, units(_hex(log.get("data") or "0x0"), decimals), "0x" + str(topics[2])[-40:],
                             "0x" + str(topics[1])[-40:])

    def watched_inflows(self, start: datetime, end: datetime) -> list[WatchedInflow]:
        """ERC-20 `Transfer` logs of the configured tokens into watched addresses, over the day's blocks (native
        Ether carries no log: watch it through an explorer CSV)."""
        watched = [a.lower() for a in self.config.watched_addresses]
        if not watched or not self.tokens:
            return []
        first, last = self._block_at_or_after(start), self._block_at_or_after(end) - 1
        if last < first:
            return []
        logs = self.rpc.call("eth_getLogs", [{
            "fromBlock": hex(first), "toBlock": hex(last), "address": sorted(self.tokens),
            "topics": [TRANSFER_TOPIC, None, ["0x" + "0" * 24 + a.removeprefix("0x") for a in watched]]}])
        inflows = []
        for log in logs or []:
            move = self._token_move(log)
            if move is None or move.to_address.lower() not in watched:
                continue
            tx = ChainTx(self.network, str(log["transactionHash"]), (move,),
                         self._confirmations(log.get("blockNumber")), source=f"{self.description} eth_getLogs")
            inflows.append(WatchedInflow(tx, move))
        return inflows

    def _block_time(self, number: int) -> datetime:
        block = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        return datetime.fromtimestamp(_hex(block["timestamp"]), UTC)

    def _block_at_or_after(self, moment: datetime) -> int:
        """The first block mined at or after `moment` (tip + 1 when none is yet): a binary search on times."""
        low, high = 0, self.tip() + 1
        while low < high:
            middle = (low + high) // 2
            if self._block_time(middle) < moment:
                low = middle + 1
            else:
                high = middle
        return low


class ExplorerCsv:
    HASH = ("Transaction Hash", "Txhash", "Hash")
    VALUE = ("TokenValue", "Value_IN(ETH)", "Value", "Amount")

    def __init__(self, key: str, network: ChainNetworkConfig, path: Path) -> None:
        self.network, self.config, self.path = key, network, path
        self.description = f"{key}: explorer_csv {path}"
        self._rows: list[tuple[ChainTx, ChainTransfer, datetime | None]] | None = None

    def close(self) -> None:
        return None

    def rows(self) -> list[tuple[ChainTx, ChainTransfer, datetime | None]]:
        if self._rows is None:
            self._rows = self._read()
        return self._rows

    def _read(self) -> list[tuple[ChainTx, ChainTransfer, datetime | None]]:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ChainSourceError(f"{self.description}: {exc.strerror}") from None
        rows = []
        for line, row in enumerate(csv.DictReader(text.splitlines()), 2):
            try:
                tx_hash = next(row[c] for c in self.HASH if row.get(c))
                raw = next(row[c] for c in self.VALUE if row.get(c) not in (None, ""))
                amount = Decimal(raw.replace(",", ""))
                stamp = row.get("UnixTimestamp")
                mined = datetime.fromtimestamp(int(stamp), UTC) if stamp else None
                listed = row.get("Confirmations")
                confirmations = int(listed) if listed else self.config.min_confirmations
            except (StopIteration, InvalidOperation, ValueError) as exc:
                raise ChainSourceError(f"{self.path}:{line}: unreadable row ({type(exc).__name__})") from None
            move = ChainTransfer((row.get("TokenSymbol") or self.config.asset()).upper(), amount,
                                 row.get("To", ""), row.get("From", ""))
            tx = ChainTx(self.network, tx_hash, (move,), confirmations, mined, source=f"{self.path}:{line}")
            rows.append((tx, move, mined))
        return rows

    def lookup(self, tx_hashes: Iterable[str]) -> dict[str, ChainTx | None]:
        by_hash: dict[str, list[ChainTx]] = {}
        for tx, _move, _mined in self.rows():
            by_hash.setdefault(hash_key(tx.tx_hash), []).append(tx)
        found: dict[str, ChainTx | None] = {}
        for wanted in {hash_key(h) for h in tx_hashes}:
            parts = by_hash.get(wanted)
            found[wanted] = None if not parts else ChainTx(
                self.network, parts[0].tx_hash, tuple(m for p in parts for m in p.transfers),
                min(p.confirmations for p in parts), parts[0].block_time, source=parts[0].source)
        return found

    def watched_inflows(self, start: datetime, end: datetime) -> list[WatchedInflow]:
        watched = self.config.watched_addresses
        return [WatchedInflow(tx, move) for tx, move, mined in self.rows()
                if mined is not None and start <= mined < end
                and any(same_address(move.to_address, mine) for mine in watched)]


def chain_source(key: str, network: ChainNetworkConfig, state_dir: Path, day: Any) -> ChainSource:
    if network.kind == "bitcoin_rpc":
        return BitcoinRpc(key, network)
    if network.kind == "ethereum_rpc":
        return EthereumRpc(key, network)
    assert network.csv_file is not None
    path = Path(str(network.csv_file).format(date=day.isoformat()))
    return ExplorerCsv(key, network, path if path.is_absolute() else state_dir / path)
