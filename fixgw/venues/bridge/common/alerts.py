"""What a REST venue asks an operator to look at. The venue layer cannot raise the gateway's alerts itself: the
gateway sets `RestExecutionClient.on_alert`, which raises the alert (and journals it) on the router thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

HEADROOM = "venue_headroom"
"""The request rate stayed at or above `headroom_alert_share` of the venue's documented rate over the window."""


@dataclass(frozen=True, slots=True)
class VenueAlert:
    kind: str
    """`EventName.UNKNOWN_VENUE_ORDER` (journaled as well), or `HEADROOM`."""
    venue: str
    scope: str
    message: str
    detail: dict[str, str] = field(default_factory=dict)


AlertHook = Callable[[VenueAlert], None]
"""Called on the venue's event loop: must return at once."""
