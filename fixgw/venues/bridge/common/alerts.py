"""What a REST venue asks an operator to look at as it happens. The venue layer cannot raise the gateway's alerts
itself: the gateway sets `RestExecutionClient.on_alert`, which raises the alert (and journals it) on the router
thread. (States that begin and end, like low rate headroom, are ops alert rules over `VenueStats` instead.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class VenueAlert:
    kind: str
    """`EventName.UNKNOWN_VENUE_ORDER` (journaled as well)."""
    venue: str
    scope: str
    message: str
    detail: dict[str, str] = field(default_factory=dict)


AlertHook = Callable[[VenueAlert], None]
"""Called on the venue's event loop: must return at once."""
