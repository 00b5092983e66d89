"""The desk's margin picture from the venues' latest snapshots: engine figures, PB drift, states, and the exact
JSON `fixgw margin status --json`, `/api/margin` and the journal carry. Pure: no I/O (books and prices in, dicts
out), so the CLI recomputes stress from the journaled books exactly as the gateway would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.model.decimals import fmt_decimal
from fixgw.model.margin import (
    AccountFigures,
    Balance,
    MarginMode,
    MarginState,
    MissingPrice,
    Pool,
    Thresholds,
    Valuation,
    VenueAccount,
    account_figures,
    desk_figures,
)
from fixgw.model.margin_haircuts import MarginTable
from fixgw.model.margin_interest import drift_pct, pb_way
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.model.margin_stress import Shock, deltas, stress

MONEY = Decimal("0.01")
RATIO = Decimal("0.0001")
PCT = Decimal("0.01")


def _s(value: Decimal | None, quantum: Decimal = MONEY) -> str | None:
    return None if value is None else fmt_decimal(value.quantize(quantum))


@dataclass(frozen=True, slots=True)
class VenueView:
    snapshot: AccountSnapshot
    valuation: Valuation
    thresholds: Thresholds
    figures: AccountFigures | None
    """None when an asset has no reference price: the venue is shown as critical with `error`."""
    drift_pct: Decimal | None
    error: str = ""

    @property
    def state(self) -> MarginState:
        return MarginState.CRITICAL if self.figures is None else self.figures.state


def value_venue(snapshot: AccountSnapshot, prices: Mapping[str, Decimal], table: MarginTable,
                sigmas: Mapping[str, Decimal], thresholds: Thresholds, asset_class: str = "crypto") -> VenueView:
    valuation = Valuation(prices, table, sigmas, default_class=asset_class)
    try:
        figures = account_figures(snapshot.account, valuation, thresholds)
        drift = None
        if snapshot.drift_measure is not None:
            ours, theirs = pb_way(snapshot.account, valuation, snapshot.reported, snapshot.drift_measure)
            drift = drift_pct(ours, theirs)
    except MissingPrice as exc:
        return VenueView(snapshot, valuation, thresholds, None, None, str(exc))
    return VenueView(snapshot, valuation, thresholds, figures, drift)


def status_json(as_of: datetime, views: Iterable[VenueView], *, cross_venue_netting: bool) -> dict[str, Any]:
    """`fixgw margin status --json`: every number a decimal string, null where the issue says null."""
    venues: dict[str, Any] = {}
    valued: list[AccountFigures] = []
    for view in views:
        figures = view.figures
        venue: dict[str, Any] = {"mode": view.snapshot.account.mode.value, "state": view.state.value}
        if figures is None:
            venue.update(dict.fromkeys(("collateral_value", "liabilities", "equity", "requirement_initial",
                                        "requirement_maintenance", "margin_ratio", "excess",
                                        "liquidation_distance_pct")))
            venue.update({"venue_reported": dict(view.snapshot.reported) or None, "drift_pct": None, "assets": []})
            venues[view.snapshot.venue] = venue
            continue
        valued.append(figures)
        total = figures.total
        venue.update({
            "collateral_value": _s(total.collateral_value), "liabilities": _s(total.liabilities),
            "equity": _s(total.equity), "requirement_initial": _s(total.requirement_initial),
            "requirement_maintenance": _s(total.requirement_maintenance),
            "margin_ratio": _s(figures.margin_ratio, RATIO), "excess": _s(total.excess),
            "liquidation_distance_pct": _s(total.liquidation_distance_pct, PCT),
            "venue_reported": dict(view.snapshot.reported) or None, "drift_pct": _s(view.drift_pct, RATIO),
            "assets": [{"asset": line.asset, "quantity": fmt_decimal(line.quantity), "price": fmt_decimal(line.price),
                        "haircut": _s(line.haircut, RATIO), "value": _s(line.value)} for line in total.assets]})
        venues[view.snapshot.venue] = venue
    desk = desk_figures(valued, cross_venue_netting=cross_venue_netting)
    return {"as_of": as_of.isoformat(), "venues": venues,
            "desk": {"collateral_value": _s(desk.collateral_value), "liabilities": _s(desk.liabilities),
                     "equity": _s(desk.equity), "requirement_maintenance": _s(desk.requirement_maintenance),
                     "excess": _s(desk.excess)}}


def stress_json(views: Iterable[VenueView], shocks: Iterable[Shock]) -> dict[str, Any]:
    """Per shock and venue the ratio, excess and state after it; and the desk's delta per asset."""
    priced = [view for view in views if view.figures is not None]
    accounts = [view.snapshot.account for view in priced]
    valuations = {view.snapshot.venue: view.valuation for view in priced}
    thresholds = {view.snapshot.venue: view.thresholds for view in priced}
    results = []
    for result in stress(accounts, valuations, shocks, thresholds):
        results.append({"shock": result.shock.name, "venues": {
            figures.venue: {"margin_ratio": _s(figures.margin_ratio, RATIO), "excess": _s(figures.total.excess),
                            "state": figures.state.value} for figures in result.accounts}})
    return {"shocks": results, "delta": [{"asset": d.asset, "quantity": fmt_decimal(d.quantity),
                                          "notional": _s(d.notional)} for d in deltas(accounts, valuations)]}


# -- the books as journal JSON (so another process can revalue them) -------------------------------------------


def book_json(view: VenueView) -> dict[str, Any]:
    account = view.snapshot.account
    return {"venue": account.venue, "currency": account.currency, "mode": account.mode.value,
            "margin_call": account.margin_call, "received_at": view.snapshot.received_at.isoformat(),
            "reported": dict(view.snapshot.reported), "drift_measure": view.snapshot.drift_measure,
            "pools": [{"name": pool.name, "balances": [[b.asset, fmt_decimal(b.held), fmt_decimal(b.borrowed),
                                                         fmt_decimal(b.interest)] for b in pool.balances]}
                      for pool in account.pools],
            "prices": {asset: fmt_decimal(p) for asset, p in view.valuation.prices.items()},
            "sigmas": {asset: fmt_decimal(s) for asset, s in view.valuation.sigmas.items()},
            "thresholds": [fmt_decimal(view.thresholds.warn), fmt_decimal(view.thresholds.reduce_only),
                           fmt_decimal(view.thresholds.critical)], "asset_class": view.valuation.default_class}


def view_from_json(data: Mapping[str, Any], table: MarginTable) -> VenueView:
    pools = tuple(Pool(pool["name"], tuple(Balance(a, Decimal(h), Decimal(b), Decimal(i))
                                           for a, h, b, i in pool["balances"])) for pool in data["pools"])
    account = VenueAccount(data["venue"], data["currency"], MarginMode(data["mode"]), pools,
                           margin_call=bool(data["margin_call"]))
    snapshot = AccountSnapshot(data["venue"], datetime.fromisoformat(data["received_at"]), account,
                               dict(data["reported"]), data.get("drift_measure"))
    thresholds = Thresholds(*(Decimal(t) for t in data["thresholds"]))
    return value_venue(snapshot, {a: Decimal(p) for a, p in data["prices"].items()}, table,
                       {a: Decimal(s) for a, s in data["sigmas"].items()}, thresholds,
                       data.get("asset_class", "crypto"))
