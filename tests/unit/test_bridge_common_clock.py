"""Clock skew: offset from time endpoints and Date headers, alert past a threshold."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from fixgw.venues.bridge.common.clock import ClockSkewEstimator


def test_server_time_sample_uses_round_trip_midpoint() -> None:
    clock = ClockSkewEstimator(wall=lambda: 1000.0)
    clock.observe_server_time(server_s=1005.2, sent_s=999.0, received_s=999.4)
    assert clock.offset_s == pytest.approx(6.0)
    assert clock.now() == pytest.approx(1006.0)


def test_date_header_ignored_within_its_resolution() -> None:
    clock = ClockSkewEstimator(wall=lambda: 1000.3)
    clock.observe_date_header(formatdate(1000, usegmt=True))
    assert clock.offset_s == 0.0


def test_date_header_skew_is_adopted() -> None:
    clock = ClockSkewEstimator(wall=lambda: 1000.0)
    clock.observe_date_header(formatdate(1045, usegmt=True))
    assert clock.offset_s == pytest.approx(45.5)


def test_garbage_date_header_is_ignored() -> None:
    clock = ClockSkewEstimator(wall=lambda: 1000.0)
    clock.observe_date_header("yesterday-ish")
    assert clock.samples == 0


def test_alert_fires_once_per_crossing() -> None:
    alerts: list[float] = []
    clock = ClockSkewEstimator(alert_threshold_s=2.0, on_alert=alerts.append, wall=lambda: 0.0)
    clock.observe_server_time(1.0, 0.0, 0.0)
    clock.observe_server_time(5.0, 0.0, 0.0)
    clock.observe_server_time(6.0, 0.0, 0.0)
    clock.observe_server_time(0.5, 0.0, 0.0)
    clock.observe_server_time(-3.0, 0.0, 0.0)
    assert alerts == [5.0, -3.0]
