"""Rate headroom: the share of the documented rate used over the window, one alert per episode."""

from __future__ import annotations

import pytest

from fixgw.venues.bridge.common.headroom import Headroom


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_episode_alerts_once_ends_when_the_rate_drops_and_a_new_one_alerts_again() -> None:
    clock = Clock()
    headroom = Headroom("pb", documented_rate=10, alert_share=0.7, window_s=10, clock=clock)

    def run(seconds: int, per_second: int) -> list[bool]:
        changes = []
        for _ in range(seconds):
            clock.now += 1
            for _ in range(per_second):
                headroom.record()
            change = headroom.check()
            if change is not None:
                changes.append(change.above)
        return changes

    assert run(10, 6) == [] and headroom.used_share() == pytest.approx(0.6)  # 60 %: below the alert share
    assert run(10, 8) == [True]  # crosses 70 % once inside the window: one alert, however long it lasts
    assert headroom.above and headroom.used_share() == pytest.approx(0.8)
    assert run(10, 2) == [False]  # back under: the episode ends
    assert run(10, 9) == [True] and headroom.episodes == 2


def test_requests_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    headroom = Headroom("pb", documented_rate=2, window_s=5, clock=clock)
    for _ in range(10):
        headroom.record()
    assert headroom.used_share() == 1.0
    clock.now = 5.0
    assert headroom.used_share() == 0.0


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Headroom("pb", documented_rate=10, alert_share=1.5)
