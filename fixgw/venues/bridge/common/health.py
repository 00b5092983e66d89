"""Whether a REST venue is up: counted from its requests and a periodic authenticated probe.

A REST venue has no logon, so "connected" means "answers": `down_after` failures in a row (timeouts, 5xx, no
connection - a refusal is an answer) take it down, `up_after` good probes bring it back. Orders are then routed
to the rule's backup like for a FIX broker that logged out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fixgw.logs import get_logger

log = get_logger("fixgw.bridge.health")


@dataclass
class VenueHealth:
    venue: str
    down_after: int
    up_after: int
    on_change: Callable[[bool], None]
    up: bool = True
    failures: int = 0
    successes: int = 0
    probe_rtt_s: float | None = None
    """Round trip of the last good probe (None: none yet)."""

    def answered(self, ok: bool) -> None:
        """One request's or probe's outcome; a request while down does not bring it back (only probes do)."""
        if ok:
            self.failures = 0
            return
        self.successes = 0
        self.failures += 1
        if self.up and self.failures >= self.down_after:
            self.up = False
            log.error("bridge_venue_down", venue=self.venue, failures=self.failures)
            self.on_change(False)

    def probed(self, ok: bool, rtt_s: float | None = None) -> None:
        if not ok:
            return  # its request already counted as a failure
        self.probe_rtt_s = rtt_s
        if self.up:
            return
        self.successes += 1
        if self.successes >= self.up_after:
            self.up = True
            self.failures = 0
            self.successes = 0
            log.info("bridge_venue_up", venue=self.venue, probe_rtt_s=rtt_s)
            self.on_change(True)
