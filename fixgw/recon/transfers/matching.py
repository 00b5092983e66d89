"""Transfer matching (pure): each venue transfer against the chain's transaction of its hash - found, succeeded,
paying the venue's address the venue's amount (after the token's decimals), with enough confirmations - and
every inflow to a watched address against the hashes the venues reported."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from fixgw.model.decimals import fmt_decimal
from fixgw.model.transfers import TransferStatus, VenueTransfer
from fixgw.recon.transfers.records import (
    ChainTx,
    TransferBreak,
    TransferBreakKind,
    TransferResult,
    WatchedInflow,
    transfer_evidence,
)


def hash_key(tx_hash: str) -> str:
    """One spelling per hash: lower case, no 0x (explorers and venues differ on both)."""
    return tx_hash.strip().lower().removeprefix("0x")


@dataclass(frozen=True, slots=True)
class TransferRules:
    max_pending: timedelta
    min_confirmations: Mapping[str, int]
    """Per configured network."""


def match_transfers(transfers: Sequence[VenueTransfer], network_of: Callable[[str, str], str | None],
                    chain: Mapping[tuple[str, str], ChainTx | None], rules: TransferRules, now: datetime,
                    inflows: Sequence[WatchedInflow] = (), reported_hashes: Collection[str] = ()) -> TransferResult:
    """`network_of(label, asset)` names the configured network of a transfer; `chain` maps (network, hash_key) to
    what that network's source found (None: unknown there); `reported_hashes` (hash keys) are every hash any venue
    reported, this run's and the journal's."""
    result = TransferResult()
    for transfer in transfers:
        result.transfers += 1
        _check(transfer, network_of(transfer.network, transfer.asset), chain, rules, now, result)
    reported = {hash_key(t.tx_hash) for t in transfers if t.tx_hash} | set(reported_hashes)
    seen: set[tuple[str, str]] = set()
    for inflow in inflows:
        result.watched_inflows += 1
        key = (hash_key(inflow.tx.tx_hash), inflow.transfer.to_address.lower())
        if key[0] in reported or key in seen:
            continue
        seen.add(key)
        result.breaks.append(TransferBreak(
            TransferBreakKind.UNREPORTED_ON_CHAIN, inflow.tx.network, inflow.tx.tx_hash, inflow.transfer.asset,
            f"{fmt_decimal(inflow.transfer.amount)} {inflow.transfer.asset} into watched address "
            f"{inflow.transfer.to_address} that no prime broker reports", None,
            inflow.tx.evidence(inflow.transfer.asset)))
    return result


def _check(transfer: VenueTransfer, network: str | None, chain: Mapping[tuple[str, str], ChainTx | None],
           rules: TransferRules, now: datetime, result: TransferResult) -> None:
    ours = transfer_evidence(transfer)
    late = now - transfer.created_at > rules.max_pending
    ref = transfer.tx_hash or transfer.transfer_id

    def broke(kind: TransferBreakKind, detail: str, tx: ChainTx | None = None) -> None:
        result.breaks.append(TransferBreak(kind, transfer.venue, ref, transfer.asset, detail, ours,
                                           tx.evidence(transfer.asset) if tx else None))

    if transfer.status is TransferStatus.FAILED:
        result.failed += 1
        return
    if not transfer.tx_hash:
        if transfer.status is TransferStatus.COMPLETED and transfer.hash_expected:
            broke(TransferBreakKind.MISSING_HASH, f"{transfer.direction.value} {transfer.transfer_id} is completed "
                                                  f"({transfer.venue_status}) without a transaction hash")
        elif transfer.hash_expected:
            result.pending += 1
        else:
            result.unchecked += 1
        return
    if network is None:
        result.unchecked += 1
        return
    tx = chain.get((network, hash_key(transfer.tx_hash)))
    if tx is None:
        if transfer.status is TransferStatus.COMPLETED or late:
            broke(TransferBreakKind.HASH_UNKNOWN_ON_CHAIN, f"{network} does not know transaction {transfer.tx_hash} "
                                                           f"({transfer.direction.value} {transfer.transfer_id})")
        else:
            result.pending += 1
        return
    moved = [move for move in tx.transfers if move.asset == transfer.asset]
    paid = tx.paid_to(transfer.asset, transfer.address) if transfer.address else sum(
        (move.amount for move in moved), Decimal(0))
    minimum = rules.min_confirmations.get(network, 1)
    if not tx.succeeded:
        broke(TransferBreakKind.AMOUNT_MISMATCH, f"transaction {tx.tx_hash} reverted on {network}: it moved nothing",
              tx)
    elif tx.confirmations == 0 and not moved:   # not mined yet: a token transfer's logs do not exist yet
        _unconfirmed(transfer, tx, minimum, rules, now, late, broke, result)
    elif moved and transfer.address and paid == 0:
        broke(TransferBreakKind.ADDRESS_MISMATCH, f"transaction {tx.tx_hash} pays {transfer.asset} to "
              f"{', '.join(sorted({m.to_address for m in moved}))}, not to {transfer.address}", tx)
    elif paid != transfer.amount:
        broke(TransferBreakKind.AMOUNT_MISMATCH, f"the venue says {fmt_decimal(transfer.amount)} {transfer.asset}, "
              f"transaction {tx.tx_hash} pays {fmt_decimal(paid)}", tx)
    elif tx.confirmations < minimum:
        _unconfirmed(transfer, tx, minimum, rules, now, late, broke, result)
    else:
        result.matched += 1


def _unconfirmed(transfer: VenueTransfer, tx: ChainTx, minimum: int, rules: TransferRules, now: datetime, late: bool,
                 broke: Callable[..., None], result: TransferResult) -> None:
    if not late:
        result.pending += 1
        return
    broke(TransferBreakKind.UNCONFIRMED, f"{tx.confirmations} confirmation(s) of {minimum} "
          f"{int((now - transfer.created_at).total_seconds())} s after the {transfer.direction.value} was created "
          f"(max_pending_s {int(rules.max_pending.total_seconds())})", tx)
