"""Rate-limit headroom: the share of a venue's documented request rate we use, averaged over a window.

Counted when a request asks for its token (our demand, not what the bucket let through: the bucket caps what
leaves at `rate_fraction` of the limit, so a queue building up behind it shows here as a share above that). When
the share over the last `window_s` reaches `alert_share` an episode starts; it ends when the share drops below
again. Both are logged; `above` feeds `VenueStats`, on which the ops rule `rate_headroom:<venue>` fires once per
episode and resolves when it ends. The clock is injectable for instant tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fixgw.logs import get_logger

log = get_logger("fixgw.bridge.headroom")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class HeadroomChange:
    """An episode starting (`above` True) or ending."""

    venue: str
    above: bool
    used_share: float
    alert_share: float
    window_s: float


class Headroom:
    def __init__(self, venue: str, documented_rate: float, *, alert_share: float = 0.7, window_s: float = 60.0,
                 clock: Clock = time.monotonic) -> None:
        if documented_rate <= 0 or not 0 < alert_share <= 1 or window_s <= 0:
            raise ValueError("invalid headroom settings")
        self.venue = venue
        self.documented_rate = documented_rate
        self.alert_share = alert_share
        self.window_s = window_s
        self._clock = clock
        self._requests: deque[float] = deque()
        self.above = False
        """True during an episode (from the alert until the share drops below `alert_share`)."""
        self.episodes = 0

    def record(self) -> None:
        """One request asked for its token now."""
        self._requests.append(self._clock())

    def used_share(self) -> float:
        """Requests over the last window as a share of what the documented rate allows in it."""
        now = self._clock()
        while self._requests and self._requests[0] <= now - self.window_s:
            self._requests.popleft()
        return len(self._requests) / (self.documented_rate * self.window_s)

    def check(self) -> HeadroomChange | None:
        """The episode change since the last check, if any."""
        share = self.used_share()
        if not self.above and share >= self.alert_share:
            self.above = True
            self.episodes += 1
            log.warning("bridge_rate_headroom_low", venue=self.venue, used_share=round(share, 3),
                        alert_share=self.alert_share, window_s=self.window_s)
            return HeadroomChange(self.venue, True, share, self.alert_share, self.window_s)
        if self.above and share < self.alert_share:
            self.above = False
            log.info("bridge_rate_headroom_recovered", venue=self.venue, used_share=round(share, 3))
            return HeadroomChange(self.venue, False, share, self.alert_share, self.window_s)
        return None
