"""What a venue says of its endpoints' end of life: `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and `Warning`
(RFC 7234) response headers, kept per endpoint (method and path template) for the metrics, `fixgw venues status`
and the once-a-day alert.

Deprecation is a structured-field Date (`@1688169599`, parsed with http-sf); the drafts' `true` and an HTTP-date
are read too. Sunset is an HTTP-date. A header that does not parse is logged and kept as a warning text.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import http_sf

from fixgw.logs import get_logger
from fixgw.venues.plugin import EndpointNotice

log = get_logger("fixgw.bridge.deprecation")

NOTICE_HEADERS = ("deprecation", "sunset", "warning")


def parse_deprecation(value: str) -> tuple[bool, datetime | None]:
    """(deprecated, since when if said). `@<epoch>` (RFC 9745), `?1`/`true` (earlier drafts) or an HTTP-date."""
    text = value.strip()
    if text.lower() == "true":
        return True, None
    try:
        item = http_sf.parse(text.encode("ascii"), tltype="item")
    except (ValueError, UnicodeEncodeError):
        item = None
    bare = item[0] if isinstance(item, tuple) else item
    if isinstance(bare, datetime):
        return True, bare.astimezone(UTC)
    if isinstance(bare, bool):
        return bare, None
    return True, parse_http_date(text)


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class DeprecationBook:
    """One venue's endpoint notices; written on the venue's loop, read by the metrics and the admin API."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self._notices: dict[str, EndpointNotice] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: str, headers: Mapping[str, str], at: datetime) -> EndpointNotice | None:
        """Record the notice headers of one answer (none: nothing changes); returns the endpoint's notice."""
        values = {name: headers[name] for name in NOTICE_HEADERS if headers.get(name)}
        if not values:
            return None
        deprecated, deprecated_at = (parse_deprecation(values["deprecation"]) if "deprecation" in values
                                     else (False, None))
        sunset_at = parse_http_date(values["sunset"]) if "sunset" in values else None
        warnings = tuple(part.strip() for part in values.get("warning", "").split(",") if part.strip())
        if "sunset" in values and sunset_at is None:
            warnings += (f"unparsed Sunset: {values['sunset']}",)
        notice = EndpointNotice(endpoint, deprecated or sunset_at is not None, deprecated_at, sunset_at, warnings, at)
        with self._lock:
            before = self._notices.get(endpoint)
            self._notices[endpoint] = notice
        if before is None or (before.deprecated_at, before.sunset_at, before.warnings) != (
                deprecated_at, sunset_at, warnings):
            log.warning("venue_endpoint_notice", venue=self.venue, endpoint=endpoint, deprecated=notice.deprecated,
                        deprecated_at=deprecated_at and deprecated_at.isoformat(),
                        sunset_at=sunset_at and sunset_at.isoformat(), warnings=list(warnings))
        return notice

    def snapshot(self) -> tuple[EndpointNotice, ...]:
        with self._lock:
            return tuple(sorted(self._notices.values(), key=lambda notice: notice.endpoint))
