"""Latency percentiles with HdrHistogram (microsecond resolution, up to a minute, 3 significant digits)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 60_000_000, 3


def histogram(values_us: Iterable[int]) -> HdrHistogram:
    h = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)
    for value in values_us:
        h.record_value(min(max(int(value), _LOWEST_US), _HIGHEST_US))
    return h


def summary(h: HdrHistogram) -> dict[str, Any]:
    """count, p50/p90/p99/p99.9, max and mean in microseconds (None when empty)."""
    count = h.get_total_count()
    result: dict[str, Any] = {"count": count}
    for p in PERCENTILES:
        result[f"p{p:g}"] = h.get_value_at_percentile(p) if count else None
    result["max"] = h.get_max_value() if count else None
    result["mean"] = round(h.get_mean_value(), 1) if count else None
    return result


def summarize(values_us: Iterable[int]) -> dict[str, Any]:
    return summary(histogram(values_us))
