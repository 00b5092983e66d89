"""Transfer reconciliation without the network: the pure matching rules, exact amounts from hex and CSV, the
venues' listings parsed, the scheduled job beside end-of-day recon, the status-page line and the metric."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from waiting import wait_until

from fixgw.config import parse_config
from fixgw.model.transfers import Direction, TransferStatus, VenueTransfer
from fixgw.recon.service import LAST_RUN_PREFIX, TRANSFERS, ReconService
from fixgw.recon.transfers.chain import ExplorerCsv, units
from fixgw.recon.transfers.matching import TransferRules, match_transfers
from fixgw.recon.transfers.records import ChainTransfer, ChainTx, TransferBreakKind, WatchedInflow
from fixgw.recon.transfers.settings import ChainNetworkConfig
from fixgw.store import Journal
from fixgw.venues.bridge.binance.transfers import parse_deposit, parse_withdrawal
from fixgw.venues.bridge.coinbase_prime.transfers import parse_transaction

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RULES = TransferRules(timedelta(hours=1), {"ethereum": 12})
PAYEE = "0xAbCdEf0000000000000000000000000000000001"


def transfer(**changes: object) -> VenueTransfer:
    fields: dict[str, object] = {
        "venue": "bnb", "transfer_id": "w-1", "direction": Direction.WITHDRAWAL, "asset": "ETH", "network": "ETH",
        "amount": Decimal("1.5"), "address": PAYEE, "tx_hash": "0xAA", "status": TransferStatus.COMPLETED,
        "venue_status": "6", "created_at": NOW - timedelta(hours=2)}
    fields.update(changes)
    return VenueTransfer(**fields)  # type: ignore[arg-type]


def chain_tx(amount: str = "1.5", to: str = PAYEE.lower(), confirmations: int = 20, ok: bool = True) -> ChainTx:
    return ChainTx("ethereum", "0xaa", (ChainTransfer("ETH", Decimal(amount), to),), confirmations, succeeded=ok)


def kinds(found: VenueTransfer, tx: ChainTx | None, **extra: object) -> list[str]:
    result = match_transfers([found], lambda label, _asset: "ethereum" if label == "ETH" else None,
                             {("ethereum", "aa"): tx}, RULES, NOW, **extra)  # type: ignore[arg-type]
    return [b.kind.value for b in result.breaks]


@pytest.mark.parametrize(("found", "tx", "expected"), [
    (transfer(), chain_tx(), []),                                              # hash case and 0x do not matter
    (transfer(), None, ["hash_unknown_on_chain"]),
    (transfer(status=TransferStatus.PENDING, created_at=NOW), None, []),        # broadcast just now: pending
    (transfer(status=TransferStatus.PENDING), None, ["hash_unknown_on_chain"]),  # ... and late: a break
    (transfer(), chain_tx("1.500000000000000001"), ["amount_mismatch"]),       # one wei
    (transfer(), chain_tx(ok=False), ["amount_mismatch"]),                     # reverted
    (transfer(), chain_tx(to="0x" + "0" * 40), ["address_mismatch"]),
    (transfer(), chain_tx(confirmations=3), ["unconfirmed"]),
    (transfer(asset="USDC"), chain_tx(confirmations=0), ["unconfirmed"]),          # in the mempool: no logs yet
    (transfer(asset="USDC", created_at=NOW), chain_tx(confirmations=0), []),
    (transfer(created_at=NOW - timedelta(minutes=5)), chain_tx(confirmations=3), []),
    (transfer(tx_hash=""), None, ["missing_hash"]),
    (transfer(tx_hash="", status=TransferStatus.PENDING), None, []),
    (transfer(tx_hash="", hash_expected=False), None, []),                     # FalconX: no hashes listed
    (transfer(status=TransferStatus.FAILED), None, []),
    (transfer(network="SOL"), None, []),                                       # no chain configured: unchecked
])
def test_matching_rules(found: VenueTransfer, tx: ChainTx | None, expected: list[str]) -> None:
    assert kinds(found, tx) == expected


def test_an_inflow_to_a_watched_address_is_a_break_unless_a_venue_reported_its_hash() -> None:
    move = ChainTransfer("USDC", Decimal("7"), "0x22")
    inflow = WatchedInflow(ChainTx("ethereum", "0xFF", (move,), 20), move)
    result = match_transfers([], lambda _l, _a: None, {}, RULES, NOW, [inflow, inflow])
    assert [b.kind for b in result.breaks] == [TransferBreakKind.UNREPORTED_ON_CHAIN]
    assert match_transfers([], lambda _l, _a: None, {}, RULES, NOW, [inflow], {"ff"}).breaks == []


def test_a_transfer_without_a_chain_label_goes_to_the_one_network_carrying_its_asset() -> None:
    from fixgw.recon.transfers.settings import TransferReconConfig

    settings = TransferReconConfig.model_validate({"networks": {
        "bitcoin": {"kind": "bitcoin_rpc", "url": "http://127.0.0.1:1"},
        "ethereum": {"kind": "ethereum_rpc", "url": "http://127.0.0.1:1",
                     "tokens": {"USDC": {"contract": "0x" + "a0" * 20, "decimals": 6}}}}})
    assert settings.network_of("bitcoin-mainnet", "BTC") == "bitcoin"
    assert settings.network_of("", "USDC") == "ethereum" and settings.network_of("", "ETH") == "ethereum"
    assert settings.network_of("", "SOL") is None and settings.network_of("solana-mainnet", "SOL") is None


def test_amounts_are_exact() -> None:
    assert units(10**18 + 1, 18) == Decimal("1.000000000000000001")
    assert units(123456789012345678901234567890123, 18) == Decimal("123456789012345.678901234567890123")
    assert units(2_500_500_000, 6) == Decimal("2500.5")


def test_explorer_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text('"Transaction Hash","Blockno","UnixTimestamp","From","To","TokenValue","TokenSymbol"\n'
                    '"0xAB","1","1795435200","0x11","0x22","1,000.000001","USDC"\n', encoding="utf-8")
    source = ExplorerCsv("ethereum", ChainNetworkConfig(kind="explorer_csv", csv_file=path, min_confirmations=5,
                                                        watched_addresses=["0x22"]), path)
    [(key, tx)] = source.lookup(["0xab"]).items()
    assert key == "ab" and tx is not None and tx.paid_to("USDC", "0x22") == Decimal("1000.000001")
    assert tx.confirmations == 5
    day = datetime(2026, 11, 23, tzinfo=UTC)
    assert len(source.watched_inflows(day, day + timedelta(days=1))) == 1


def test_venue_listings_parse_to_canonical_transfers() -> None:
    coinbase = parse_transaction("cbp", {
        "id": "t1", "type": "WITHDRAWAL", "status": "TRANSACTION_BROADCASTING", "symbol": "eth",
        "created_at": "2026-11-20T10:00:00Z", "amount": "0.25", "network_fees": "0.0004", "network": "ethereum-mainnet",
        "blockchain_ids": ["0xabc"], "transfer_to": {"address": "0xdef"}})
    assert coinbase is not None and (coinbase.status, coinbase.asset, coinbase.tx_hash, coinbase.fee) == (
        TransferStatus.PENDING, "ETH", "0xabc", Decimal("0.0004"))
    assert parse_transaction("cbp", {"id": "t2", "type": "INTERNAL_DEPOSIT"}) is None
    deposit = parse_deposit("bnb", {"id": "d1", "amount": "0.00000001", "coin": "BTC", "network": "BTC", "status": 6,
                                    "address": "bc1q", "txId": "ab", "insertTime": 1795435200000, "transferType": 0})
    assert deposit is not None and deposit.status is TransferStatus.COMPLETED and deposit.amount == Decimal("1E-8")
    withdrawal = parse_withdrawal("bnb", {"id": "w1", "amount": "8.91", "transactionFee": "0.004", "coin": "USDT",
                                          "status": 3, "address": "0x9", "txId": "", "applyTime": "2026-11-20 11:12:02",
                                          "network": "ETH", "transferType": 0})
    assert withdrawal is not None and withdrawal.status is TransferStatus.FAILED
    assert withdrawal.created_at == datetime(2026, 11, 20, 11, 12, 2, tzinfo=UTC)
    assert parse_withdrawal("bnb", {"id": "w2", "status": 6, "transferType": 1}) is None   # internal: off chain


def test_check_config_names_a_bad_network(tmp_path: Path) -> None:
    from fixgw.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_config({"recon": {"transfers": {"networks": {"bitcoin": {"kind": "bitcoin_rpc",
                                                                       "password": "plain-text"}}}}})
    keys = " ".join(key for key, _reason in raised.value.problems)
    assert "recon.transfers.networks.bitcoin" in keys


def test_the_transfer_job_is_scheduled_beside_eod_recon_and_caught_up(journal: Journal, tmp_path: Path,
                                                                      journal_url: str) -> None:
    cfg = parse_config({"state_dir": str(tmp_path / "state"), "journal": {"url": journal_url}, "recon": {
        "enabled": True, "timezone": "UTC", "eod_cron": "0 17 * * 1-5", "drift": {"enabled": False},
        "transfers": {"enabled": True, "cron": "30 16 * * *"}}})
    now = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)                         # a Saturday: no trade recon due
    service = ReconService(cfg, journal, clock=lambda: now)                  # the default job: a real run
    service.start()
    try:
        # the catch-up runs on the scheduler's thread
        wait_until(lambda: journal.get_state(f"{LAST_RUN_PREFIX}{TRANSFERS}") is not None, 10, "the transfers catch-up")
        assert journal.get_state(f"{LAST_RUN_PREFIX}{TRANSFERS}") == "2026-11-21T16:30:00+00:00"
        assert journal.get_state("recon:2026-11-21:transfers") == "clean"      # nothing configured: clean
        assert json.loads(journal.get_state("recon.transfers.last") or "{}")["result"] == "clean"
        assert service.scheduler is not None and service.scheduler.get_job(f"recon-eod:{TRANSFERS}") is not None
    finally:
        service.stop()
    assert date(2026, 11, 21).isoformat() in (journal.get_state("recon.transfers.last") or "")


def test_status_line_and_metrics_read_the_latest_run(journal: Journal) -> None:
    from prometheus_client import generate_latest

    from fixgw.ops.metrics import GatewayMetrics
    from fixgw.recon.transfers.status import TransferCollector, status_line
    from fixgw.store.recon import ReconStore

    metrics = GatewayMetrics()
    metrics.add_collector(TransferCollector(lambda: journal))
    assert status_line(journal) == "no transfer reconciliation yet"
    assert b"fixgw_transfer_breaks" not in metrics.render()
    counts = {"transfers": 3, "matched": 1, "pending": 0, "unchecked": 0, "breaks": 2, "missing_hash": 1,
              "unconfirmed": 1}
    ReconStore(journal).put_state({"recon.transfers.last": json.dumps(
        {"date": "2026-11-20", "result": "breaks", "at": "2026-11-20T18:00:00+00:00", "counts": counts})})
    line = status_line(journal)
    assert line.startswith("2026-11-20: 2 break(s) (unconfirmed: 1, missing hash: 1)")
    text = generate_latest(metrics.registry).decode()
    assert 'fixgw_transfer_breaks{kind="missing_hash"} 1.0' in text and "fixgw_transfer_recon_clean 0.0" in text


def test_the_status_page_has_a_transfers_line() -> None:
    from fixgw.ops.status_page import StatusData, render_status

    page = render_status(StatusData(name="gw", ready=True, sessions=[], open_orders=0, by_status={}, open_rows=[],
                                    refusals=[], latency={}, risk=None, risk_available=False, alerts=[],
                                    refresh_s=5, transfers="2026-11-20: clean <ok>"))
    assert '<div id="transfers">2026-11-20: clean &lt;ok&gt;</div>' in page


def test_check_config_names_transfer_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fixgw.cli import main

    path = tmp_path / "gw.toml"
    path.write_text('[recon.transfers]\nvenues = ["nowhere"]\ncron = "61 * * * *"\n'
                    '[recon.transfers.networks.bitcoin]\nkind = "bitcoin_rpc"\n', encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    assert "recon.transfers.networks.bitcoin" in capsys.readouterr().out      # a node needs its url
    path.write_text('[recon.transfers]\nvenues = ["nowhere"]\ncron = "61 * * * *"\n', encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "recon.transfers.venues" in out and "recon.transfers.cron" in out


def test_transfer_breaks_fire_and_resolve_an_alert_for_the_sinks(journal: Journal) -> None:
    from fixgw.config import AlertsConfig
    from fixgw.ops.alert_rules import FIRING, RESOLVED, AlertEngine, Observation
    from fixgw.recon.transfers.status import transfer_breaks
    from fixgw.store.recon import ReconStore

    assert transfer_breaks(journal) == 0
    ReconStore(journal).put_state({"recon.transfers.last": json.dumps({"result": "breaks", "counts": {"breaks": 2}})})
    assert transfer_breaks(journal) == 2
    engine = AlertEngine(AlertsConfig(), started_at=0.0)
    [fired] = engine.evaluate(Observation(now=1.0, sessions={}, transfer_breaks=2))
    assert (fired.key, fired.status, fired.severity) == ("transfer_breaks:all", FIRING, "error")
    [resolved] = engine.evaluate(Observation(now=2.0, sessions={}, transfer_breaks=0))
    assert (resolved.key, resolved.status) == ("transfer_breaks:all", RESOLVED)
