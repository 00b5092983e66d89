"""`fixgw recon --transfers` end to end, in-process through the CLI: the crypto-PB simulator lists deposits and
withdrawals (Coinbase Prime transactions, Binance deposit and withdraw history) and a loopback chain node answers
Bitcoin Core and Ethereum JSON-RPC. A clean day reports clean; each break kind, caused by one fault, is the one
break of its day - in the exit code, the CSV/JSON reports, the journal and the `alert` log event."""

from __future__ import annotations

import csv
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from fixgw.cli import main
from fixgw.sim.chain_node import ChainNodeSimulator
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.crypto_pb.transfers import add_transfer, clear_transfers
from fixgw.store import Journal
from fixgw.store.recon import ReconStore
from fixgw.store.transfers import TransferStore

pytestmark = pytest.mark.timeout(120)
DAY = "2026-11-20"
ANCHOR = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)       # the node's tip is mined at 23:00 that day
BTC_WATCHED = "bc1qourdepositaddress0000000000000000000"
BTC_PAYEE = "bc1qsomeonesaddress000000000000000000000"
ETH_WATCHED = "0x2222222222222222222222222222222222222222"
ETH_SENDER = "0x1111111111111111111111111111111111111111"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
HASHES = {"btc_withdrawal": "a1" * 32, "btc_deposit": "b2" * 32, "usdc_deposit": "0x" + "c3" * 32,
          "eth_withdrawal": "0x" + "d4" * 32}
ENV = {"FIXGW_TEST_TR_CB_KEY": "access_key", "FIXGW_TEST_TR_CB_PASS": "passphrase",
       "FIXGW_TEST_TR_CB_SIGN": "signing_key"}


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The CLI points logging at this test's captured stderr: later tests (and threads) must not write there."""
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def node() -> Iterator[ChainNodeSimulator]:
    with ChainNodeSimulator(anchor=ANCHOR, bitcoin_tip=900_000, ethereum_tip=21_000_000, rpc_user="fixgw",
                            rpc_password="node-secret") as chain:
        yield chain


@pytest.fixture
def config(sim: CryptoPbSimulator, node: ChainNodeSimulator, tmp_path: Path, journal_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable, field in ENV.items():
        monkeypatch.setenv(variable, getattr(sim.credentials, field))
    monkeypatch.setenv("FIXGW_TEST_TR_BNB_KEY", sim.credentials.access_key)
    monkeypatch.setenv("FIXGW_TEST_TR_BNB_SECRET", sim.credentials.signing_key)
    monkeypatch.setenv("FIXGW_TEST_TR_NODE_PASSWORD", "node-secret")
    monkeypatch.setenv("FIXGW_TEST_TR_FX_KEY", sim.credentials.access_key)
    monkeypatch.setenv("FIXGW_TEST_TR_FX_PASS", sim.credentials.passphrase)
    monkeypatch.setenv("FIXGW_TEST_TR_FX_SECRET", sim.credentials.signing_key)
    clear_transfers(sim.base_url)
    node.clear()
    portfolio = f"pf-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "gw.toml"
    path.write_text(f"""
state_dir = "state"
[journal]
url = "{journal_url}"
[log]
format = "json"
[recon]
timezone = "UTC"
[recon.transfers]
max_pending_s = 3600
[recon.transfers.networks.bitcoin]
kind = "bitcoin_rpc"
url = "{node.url}"
username = "fixgw"
password = "env:FIXGW_TEST_TR_NODE_PASSWORD"
min_confirmations = 3
watched_addresses = ["{BTC_WATCHED}"]
[recon.transfers.networks.ethereum]
kind = "ethereum_rpc"
url = "{node.url}"
username = "fixgw"
password = "env:FIXGW_TEST_TR_NODE_PASSWORD"
min_confirmations = 12
tokens = {{ USDC = {{ contract = "{USDC}", decimals = 6 }} }}
watched_addresses = ["{ETH_WATCHED}"]
[venues.cbp]
kind = "coinbase_prime"
base_url = "{sim.coinbase_url}"
portfolio_id = "{portfolio}"
access_key = "env:FIXGW_TEST_TR_CB_KEY"
passphrase = "env:FIXGW_TEST_TR_CB_PASS"
signing_key = "env:FIXGW_TEST_TR_CB_SIGN"
retry_base_delay_s = 0.01
[venues.bnb]
kind = "binance"
base_url = "{sim.binance_url}"
api_key = "env:FIXGW_TEST_TR_BNB_KEY"
secret_key = "env:FIXGW_TEST_TR_BNB_SECRET"
retry_base_delay_s = 0.01
[venues.fx]
kind = "falconx"
base_url = "{sim.falconx_url}"
api_key = "env:FIXGW_TEST_TR_FX_KEY"
passphrase = "env:FIXGW_TEST_TR_FX_PASS"
secret = "env:FIXGW_TEST_TR_FX_SECRET"
retry_base_delay_s = 0.01
""", encoding="utf-8")
    (tmp_path / "journal_url").write_text(journal_url, encoding="utf-8")
    _clean_day(sim, node, portfolio)
    return path


def _clean_day(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    """Four transfers at two venues on two chains, each on chain as reported, with enough confirmations."""
    at = "2026-11-20T10:00:00Z"
    add_transfer(sim.base_url, venue="coinbase", account=portfolio, direction="withdrawal", asset="BTC",
                 network="bitcoin-mainnet", amount="0.015", fee="0.0001", address=BTC_PAYEE,
                 tx_hash=HASHES["btc_withdrawal"], status="completed", created_at=at)
    node.add_bitcoin_tx(HASHES["btc_withdrawal"], [(BTC_PAYEE, Decimal("0.015")), ("bc1qchange", Decimal("2.5"))],
                        confirmations=6)
    add_transfer(sim.base_url, venue="coinbase", account=portfolio, direction="deposit", asset="BTC",
                 network="bitcoin-mainnet", amount="1.23456789", address=BTC_WATCHED,
                 tx_hash=HASHES["btc_deposit"], status="completed", created_at=at)
    node.add_bitcoin_tx(HASHES["btc_deposit"], [(BTC_WATCHED, Decimal("1.23456789"))], confirmations=10)
    add_transfer(sim.base_url, venue="binance", direction="deposit", asset="USDC", network="ETH",
                 amount="2500.5", address=ETH_WATCHED, tx_hash=HASHES["usdc_deposit"], status="completed",
                 created_at=at)
    node.add_ethereum_tx(HASHES["usdc_deposit"], sender=ETH_SENDER, to=USDC, confirmations=40,
                         token_transfers=[(USDC, ETH_SENDER, ETH_WATCHED, 2_500_500_000)])
    add_transfer(sim.base_url, venue="binance", direction="withdrawal", asset="ETH", network="ETH",
                 amount="1.000000000000000001", fee="0.0005", address=ETH_SENDER,
                 tx_hash=HASHES["eth_withdrawal"], status="completed", created_at=at)
    node.add_ethereum_tx(HASHES["eth_withdrawal"], sender="0x" + "99" * 20, to=ETH_SENDER,
                         value_wei=10**18 + 1, confirmations=64)
    # FalconX lists no hashes: its deposit is journaled and counted, never a break for the missing hash.
    add_transfer(sim.base_url, venue="falconx", direction="deposit", asset="BTC", network="", amount="0.75",
                 address="", status="completed", created_at=at)


def _run(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]]]:
    code = main(["recon", "--transfers", "--date", DAY, "--config", str(config)])
    captured = capsys.readouterr()
    assert "node-secret" not in captured.err + captured.out          # the node's RPC password never shows
    lines = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    return code, lines


def _journal(config: Path) -> Journal:
    return Journal((config.parent / "journal_url").read_text(encoding="utf-8"))


def _report(config: Path) -> list[dict[str, str]]:
    path = config.parent / "state" / "recon" / DAY / "transfers.breaks.csv"
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_a_clean_day_reports_clean(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, logs = _run(config, capsys)
    assert code == 0
    assert _report(config) == []
    assert not [entry for entry in logs if entry.get("event") == "alert"]
    [done] = [entry for entry in logs if entry.get("event") == "recon.transfers_done"]
    assert (done["result"], done["transfers"], done["matched"], done["unchecked"], done["watched_inflows"]) == (
        "clean", 5, 4, 1, 2)
    with _journal(config) as journal:
        assert journal.get_state(f"recon:{DAY}:transfers") == "clean"
        [run] = ReconStore(journal).runs(recon_date=DAY, venue="transfers")
        assert run.result == "clean"
        journaled = {t.tx_hash: t for venue in ("cbp", "bnb") for t in TransferStore(journal).of_venue(venue)}
        [falconx] = TransferStore(journal).of_venue("fx")
    assert journaled[HASHES["eth_withdrawal"]].amount == Decimal("1.000000000000000001")   # wei-exact
    assert journaled[HASHES["eth_withdrawal"]].fee == Decimal("0.0005")                    # fee apart
    assert journaled[HASHES["btc_deposit"]].amount == Decimal("1.23456789")
    assert (falconx.amount, falconx.tx_hash, falconx.hash_expected) == (Decimal("0.75"), "", False)


def _missing_tx(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    node.fault(HASHES["btc_withdrawal"], "missing")


def _wrong_amount(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    node.fault(HASHES["usdc_deposit"], "wrong_amount")          # one token unit (0.000001 USDC) short


def _wrong_address(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    tx_hash = "e5" * 32
    add_transfer(sim.base_url, venue="coinbase", account=portfolio, direction="withdrawal", asset="BTC",
                 network="bitcoin-mainnet", amount="0.5", address=BTC_PAYEE, tx_hash=tx_hash, status="completed",
                 created_at="2026-11-20T11:00:00Z")
    node.add_bitcoin_tx(tx_hash, [("bc1qnotthepayee000000000000000000000000", Decimal("0.5"))], confirmations=6)


def _few_confirmations(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    node.fault(HASHES["btc_withdrawal"], "few_confirmations")   # 1 of 3, long after max_pending_s


def _no_hash(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    add_transfer(sim.base_url, venue="binance", direction="withdrawal", asset="USDC", network="ETH", amount="10",
                 address=ETH_SENDER, status="completed", created_at="2026-11-20T12:00:00Z")


def _unreported(sim: CryptoPbSimulator, node: ChainNodeSimulator, portfolio: str) -> None:
    node.add_ethereum_tx("0x" + "f6" * 32, sender=ETH_SENDER, to=USDC, confirmations=20,
                         token_transfers=[(USDC, ETH_SENDER, ETH_WATCHED, 7_000_000)])


@pytest.mark.parametrize(("fault", "kind", "ref"), [
    (_missing_tx, "hash_unknown_on_chain", HASHES["btc_withdrawal"]),
    (_wrong_amount, "amount_mismatch", HASHES["usdc_deposit"]),
    (_wrong_address, "address_mismatch", "e5" * 32),
    (_few_confirmations, "unconfirmed", HASHES["btc_withdrawal"]),
    (_no_hash, "missing_hash", None),
    (_unreported, "unreported_on_chain", "0x" + "f6" * 32),
], ids=["hash_unknown", "amount", "address", "unconfirmed", "no_hash", "unreported"])
def test_each_break_kind_through_the_cli(config: Path, sim: CryptoPbSimulator, node: ChainNodeSimulator,
                                         capsys: pytest.CaptureFixture[str],
                                         fault: Callable[[CryptoPbSimulator, ChainNodeSimulator, str], None],
                                         kind: str, ref: str | None) -> None:
    portfolio = next(line.split('"')[1] for line in config.read_text().splitlines() if line.startswith("portfolio_id"))
    fault(sim, node, portfolio)
    code, logs = _run(config, capsys)
    assert code == 1
    [row] = _report(config)
    assert (row["category"], row["kind"]) == ("transfer", kind)
    if ref is not None:
        assert row["ref"] == ref
    [alert] = [entry for entry in logs if entry.get("event") == "alert"]
    assert alert["kind"] == "transfer_breaks" and alert["by_kind"] == {kind: 1}
    document = json.loads((config.parent / "state" / "recon" / DAY / "transfers.breaks.json").read_text())
    assert document["result"] == "breaks" and document["counts"][kind] == 1
    with _journal(config) as journal:
        assert journal.get_state(f"recon:{DAY}") == "breaks"
        [run] = ReconStore(journal).runs(recon_date=DAY, venue="transfers")
        [found] = ReconStore(journal).breaks(run.run_id)
    assert found.kind == kind and found.category == "transfer"


def test_an_unreachable_node_is_a_failed_run(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = config.read_text()
    config.write_text(text.replace('url = "http://127.0.0.1', 'url = "http://127.0.0.1:1/#', 1))
    code, logs = _run(config, capsys)
    assert code == 1
    assert [entry for entry in logs if entry.get("event") == "recon.transfers_failed"]


def test_transfers_takes_no_venue_or_statement(config: Path) -> None:
    assert main(["recon", "--transfers", "--date", DAY, "--config", str(config), "--venue", "cbp"]) == 2


def test_an_explorer_csv_export_stands_in_for_the_ethereum_node(config: Path, capsys: pytest.CaptureFixture[str],
                                                                 node: ChainNodeSimulator) -> None:
    text = config.read_text()
    start = text.index("[recon.transfers.networks.ethereum]")
    end = text.index("[venues.cbp]")
    config.write_text(text[:start] + f"""[recon.transfers.networks.ethereum]
kind = "explorer_csv"
csv_file = "exports/eth-{{date}}.csv"
min_confirmations = 12
watched_addresses = ["{ETH_WATCHED}"]
""" + text[end:])
    exports = config.parent / "state" / "exports"
    exports.mkdir(parents=True)
    stamp = int(datetime(2026, 11, 20, 10, 5, tzinfo=UTC).timestamp())
    header = '"Transaction Hash","Blockno","UnixTimestamp","From","To","TokenValue","Value_IN(ETH)","TokenSymbol"\n'
    rows = (f'"{HASHES["usdc_deposit"]}","21000000","{stamp}","{ETH_SENDER}","{ETH_WATCHED}","2,500.5","","USDC"\n'
            f'"{HASHES["eth_withdrawal"]}","21000001","{stamp}","0x{"99" * 20}","{ETH_SENDER}","",'
            f'"1.000000000000000001",""\n')
    export = exports / f"eth-{DAY}.csv"
    export.write_text(header + rows, encoding="utf-8")
    node.clear()                                        # Ethereum answers come from the file only
    node.add_bitcoin_tx(HASHES["btc_withdrawal"], [(BTC_PAYEE, Decimal("0.015"))], confirmations=6)
    node.add_bitcoin_tx(HASHES["btc_deposit"], [(BTC_WATCHED, Decimal("1.23456789"))], confirmations=10)
    code, _logs = _run(config, capsys)
    assert code == 0 and _report(config) == []

    # A token transfer into our watched address that no prime broker reports, as the explorer lists it.
    export.write_text(header + rows + f'"0x{"f7" * 32}","21000002","{stamp}","{ETH_SENDER}","{ETH_WATCHED}",'
                                      f'"3","","USDC"\n', encoding="utf-8")
    code, _logs = _run(config, capsys)
    [row] = _report(config)
    assert code == 1 and (row["kind"], row["ref"], row["theirs_qty"]) == ("unreported_on_chain", "0x" + "f7" * 32, "3")
    assert row["theirs_source"].endswith(f"eth-{DAY}.csv:4")
