"""Typed bridge errors, following the outcome policy (DESIGN.md section 3).

`VenueRejected` is definitive counterparty evidence that a command did NOT take effect (a 4xx business error);
`VenueUnknown` means we cannot tell (timeout, 5xx, disconnect, retries exhausted) and must look it up.
"""

from __future__ import annotations


class BridgeError(Exception):
    def __init__(self, venue: str, message: str) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.message = message


class VenueRejected(BridgeError):
    """The venue answered, and said no. `code` is the venue's own error code or subcode when it has one."""

    def __init__(self, venue: str, message: str, *, http_status: int, code: str = "") -> None:
        super().__init__(venue, message)
        self.http_status = http_status
        self.code = code


class VenueNotFound(VenueRejected):
    """The venue does not know the order (or quote): a definitive 'not there' for lookups."""


class VenueAuthError(VenueRejected):
    """Credentials, signature or timestamp refused (401/403, Binance -1021/-1022, -2014/-2015)."""


class VenueUnknown(BridgeError):
    """The command may or may not have taken effect; settle it by a status query, never by a blind resend."""

    def __init__(self, venue: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(venue, message)
        self.http_status = http_status


class VenueUnreachable(VenueUnknown):
    """No connection could be made for a non-idempotent request (a submit): nothing reached the venue, so the
    command certainly did not take effect and may be sent again - unlike any other `VenueUnknown`."""


class NotSent(BridgeError):
    """The request never left: this node may not send (an HA node that lost its lease)."""


class MappingError(BridgeError, ValueError):
    """A value with no entry in a venue's enum table (in either direction)."""

    def __init__(self, venue: str, table: str, value: object) -> None:
        super().__init__(venue, f"no {table} mapping for {value!r}")
        self.table = table
        self.value = value


class VenueProtocolError(VenueUnknown):
    """The venue answered 2xx with something we cannot read: whatever we asked may have happened."""
