"""Reference prices and P&L of a running gateway for operators: the admin API payloads, the status page's rows
and the metrics (`fixgw_reference_*`, `fixgw_pnl`).

Reference prices are read beside the router (the ReferenceBook is shared by design); P&L belongs to the router
thread and is read through `call_on_router`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fixgw.marketdata.report import pnl_payload, prices_payload
from fixgw.ops.view import RouterUnavailable, call_on_router
from fixgw.risk.market import MarketView
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

if TYPE_CHECKING:
    from fixgw.ops.runtime import OpsRuntime

PNL_KINDS = ("realized", "unrealized", "fees", "total", "high_water", "drawdown")


def market_of(gateway: Any) -> MarketView | None:
    market = getattr(getattr(getattr(gateway, "risk", None), "checks", None), "market", None)
    return market if isinstance(market, MarketView) else None


def prices(gateway: Any) -> dict[str, Any] | None:
    market = market_of(gateway)
    if market is None:
        return None
    feeds = getattr(gateway.risk, "feeds", None)
    return prices_payload(market.references.references(), market.references.dropped(),
                          feeds.errors() if feeds is not None else {})


def pnl(gateway: Any, account: str | None = None) -> dict[str, Any] | None:
    """Raises RouterUnavailable when the router does not answer."""
    market = market_of(gateway)
    if market is None:
        return None

    def take(_core: RouterCore, _fx: Effects) -> dict[str, Any]:
        snapshot = market.snapshot(account)
        return pnl_payload(snapshot["since"], snapshot["accounts"], snapshot["lines"])  # type: ignore[arg-type]

    return call_on_router(gateway.runner, take)


class MarketDataCollector(Collector):
    def __init__(self, ops: OpsRuntime) -> None:
        self._ops = ops

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        gateway = self._ops.gateway
        payload = prices(gateway)
        if payload is None:
            return
        price = GaugeMetricFamily("fixgw_reference_price", "The composite reference price (absent: no reference)",
                                  labels=["instrument", "static"])
        age = GaugeMetricFamily("fixgw_reference_age_seconds", "Age (our receive time) of the oldest quote the "
                                "reference is made of", labels=["instrument"])
        state = GaugeMetricFamily("fixgw_reference_state", "1 for the reference's state (ok, stale, no_reference, "
                                  "diverged)", labels=["instrument", "state"])
        divergence = GaugeMetricFamily("fixgw_reference_divergence_pct", "A fresh source's distance from the "
                                       "median of the fresh sources, in %", labels=["instrument", "source"])
        for item in payload["instruments"]:
            instrument = item["instrument"]
            state.add_metric([instrument, item["state"]], 1)
            if item["price"] is not None:
                price.add_metric([instrument, str(item["static"]).lower()], float(item["price"]))
            if item["age_s"] is not None:
                age.add_metric([instrument], float(item["age_s"]))
            for source in item["sources"]:
                if source["divergence_pct"] is not None:
                    divergence.add_metric([instrument, source["source"]], float(source["divergence_pct"]))
        dropped = CounterMetricFamily("fixgw_marketdata_quotes_dropped", "Malformed quotes dropped",
                                      labels=["source", "reason"])
        for item in payload["dropped"]:
            dropped.add_metric([item["source"], item["reason"]], item["count"])
        errors = CounterMetricFamily("fixgw_marketdata_source_errors", "Failed requests or unreadable answers",
                                     labels=["source"])
        for source, count in payload["source_errors"].items():
            errors.add_metric([source], count)
        yield from (price, age, state, divergence, dropped, errors)
        try:
            day = pnl(gateway)
        except RouterUnavailable:
            return
        if day is None:
            return
        family = GaugeMetricFamily("fixgw_pnl", "The day's P&L per account (since marketdata.day_cutoff)",
                                   labels=["account", "currency", "kind"])
        for account in day["accounts"]:
            for kind in PNL_KINDS:
                family.add_metric([account["account"], account["currency"], kind], float(account[kind]))
        yield family
