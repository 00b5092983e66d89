"""The latest margin picture as operators see it: the status-page lines and the metrics `fixgw_margin_ratio`,
`fixgw_collateral_value`, `fixgw_margin_excess`, `fixgw_liquidation_distance_pct` (per venue) and
`fixgw_margin_state` (0 ok, 1 warn, 2 reduce_only, 3 critical), read from journal state `margin.last`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from fixgw.margin.service import read_last
from fixgw.model.margin import STATE_ORDER, MarginState


def interest_line(venue: str, interest: dict[str, Any] | None) -> str | None:
    """"interest 2026-12-07: USD 90000 borrowed at 20% (model) -> 49.3150684932" for a venue's latest accrual."""
    detail = (interest or {}).get(venue)
    if not detail or not detail.get("accruals"):
        return None
    parts = [f"{a['asset']} {a['borrowed']} borrowed at {Decimal(a['annual_rate']) * 100:f}% ({a['source']}) -> "
             f"{a['accrued']}" for a in detail["accruals"]]
    return f"interest {detail['day']}: " + "; ".join(parts)


def status_lines(last: dict[str, Any] | None, interest: dict[str, Any] | None = None) -> list[str]:
    if last is None:
        return []
    lines = []
    for name, venue in sorted(last["venues"].items()):
        distance = venue["liquidation_distance_pct"]
        lines.append(f"{name} [{venue['mode']}] {venue['state'].upper()}: ratio {venue['margin_ratio'] or '-'}, "
                     f"equity {venue['equity']}, excess {venue['excess']}, liquidation "
                     f"{'-' if distance is None else distance + '%'} away, drift vs PB "
                     f"{'-' if venue['drift_pct'] is None else venue['drift_pct'] + '%'}")
        accrued = interest_line(name, interest)
        if accrued is not None:
            lines.append(f"{name} {accrued}")
    desk = last["desk"]
    lines.append(f"desk: equity {desk['equity']}, maintenance {desk['requirement_maintenance']}, excess "
                 f"{desk['excess']} (as of {last['as_of']})")
    return lines


class MarginCollector(Collector):
    def __init__(self, journal: Callable[[], Any]) -> None:
        self._journal = journal

    def describe(self) -> list[Any]:
        return []  # nothing is read at registration

    def collect(self) -> Iterator[Any]:
        last = read_last(self._journal())
        if last is None:
            return
        families = {key: GaugeMetricFamily(name, text, labels=["venue"]) for key, name, text in (
            ("margin_ratio", "fixgw_margin_ratio", "Equity / maintenance requirement (absent when none is required)"),
            ("collateral_value", "fixgw_collateral_value", "Collateral value after haircuts, account currency"),
            ("excess", "fixgw_margin_excess", "Equity less the maintenance requirement, account currency"),
            ("liquidation_distance_pct", "fixgw_liquidation_distance_pct",
             "Smallest uniform price move, in %, that brings the margin ratio to 1"))}
        state = GaugeMetricFamily("fixgw_margin_state", "0 ok, 1 warn, 2 reduce_only, 3 critical", labels=["venue"])
        for name, venue in last["venues"].items():
            for key, family in families.items():
                if venue.get(key) is not None:
                    family.add_metric([name], float(Decimal(venue[key])))   # Prometheus samples are floats
            state.add_metric([name], STATE_ORDER.index(MarginState(venue["state"])))
        yield from families.values()
        yield state
