"""Each venue's state for `GET /api/venues` and `fixgw venues status`: up or down, its health probe, and the
endpoints it answered with Deprecation / Sunset / Warning headers (fixgw/venues/bridge/common/deprecation.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fixgw.ops.live import venue_statistics
from fixgw.venues.base import Venue
from fixgw.venues.plugin import EndpointNotice


def notice_json(notice: EndpointNotice) -> dict[str, Any]:
    return {"endpoint": notice.endpoint, "deprecated": notice.deprecated,
            "deprecated_at": _iso(notice.deprecated_at), "sunset_at": _iso(notice.sunset_at),
            "warnings": list(notice.warnings), "last_seen": _iso(notice.last_seen)}


def venue_status(venues: Mapping[str, Venue]) -> list[dict[str, Any]]:
    """One entry per venue, by name: FIX brokers (up = logged on) and REST venues (up = answering)."""
    stats = {s.venue: s for s in venue_statistics(venues)}
    answer = []
    for name, venue in sorted(venues.items()):
        found = stats.get(name)
        answer.append({
            "venue": name, "kind": venue.kind, "up": bool(venue.connected),
            "probe_rtt_s": None if found is None else found.probe_rtt_s,
            "requests": None if found is None else found.requests,
            "endpoints": [] if found is None else [notice_json(n) for n in found.endpoint_notices]})
    return answer


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
