"""Clock-skew estimation: how far the venue's clock is from ours, so signatures carry the venue's time.

Samples come from a venue time endpoint (millisecond resolution, corrected by half the round trip) or from
HTTP `Date` headers (one-second resolution: used only when they show a skew larger than that resolution).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

SkewAlert = Callable[[float], None]


class ClockSkewEstimator:
    def __init__(
        self,
        *,
        alert_threshold_s: float = 2.0,
        on_alert: SkewAlert | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.offset_s = 0.0  # venue clock minus local clock
        self.samples = 0
        self.alert_threshold_s = alert_threshold_s
        self._on_alert = on_alert
        self._wall = wall
        self._alerted = False

    def now(self) -> float:
        """Our best estimate of the venue's current time, in Unix seconds."""
        return self._wall() + self.offset_s

    def observe_server_time(self, server_s: float, sent_s: float, received_s: float) -> None:
        """A precise sample: the venue's time, read between local instants `sent_s` and `received_s`."""
        self._update(server_s - (sent_s + received_s) / 2)

    def observe_date_header(self, value: str | None, received_s: float | None = None) -> None:
        if not value:
            return
        try:
            server_s = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return
        local = self._wall() if received_s is None else received_s
        # The header truncates to whole seconds: the true venue time is somewhere in [server_s, server_s + 1).
        estimate = server_s + 0.5 - local
        if abs(estimate - self.offset_s) > 1.0:
            self._update(estimate)

    def _update(self, offset_s: float) -> None:
        self.offset_s = offset_s
        self.samples += 1
        beyond = abs(offset_s) > self.alert_threshold_s
        if beyond and not self._alerted and self._on_alert is not None:
            self._on_alert(offset_s)
        self._alerted = beyond
