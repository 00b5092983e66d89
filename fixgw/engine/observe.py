"""What the router thread hands an observer (metrics) after each pass that journaled something.

One call per pass, with timestamps the runner takes anyway; the observer must be quick and must not block.
Times are `time.perf_counter()` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from fixgw.router.effects import Effects
from fixgw.store.records import MessageRecord

Origin = tuple[str, float, int, int]
"""Per handled work item: (kind, queued at, len(fx.to_venue) after it, len(fx.to_ems) after it)."""


@dataclass(frozen=True, slots=True)
class PassRecord:
    fx: Effects
    messages: Sequence[MessageRecord]
    origins: Sequence[Origin]
    items: int
    journal_started: float
    journal_done: float
    venue_sent: float
    """After the last command of the pass was handed to its venue."""
    ems_sent: float
    """After the last report of the pass was handed to QuickFIX."""


class PassObserver(Protocol):
    def on_pass(self, record: PassRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionState:
    """One counterparty session as operators see it (safe to read from any thread)."""

    name: str
    role: str
    """"ems", "broker" (FIX initiator session), "venue" (REST prime broker, other venues) or "dropcopy"."""
    connected: bool
    next_sender_seq: int | None = None
    next_target_seq: int | None = None
