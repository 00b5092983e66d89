"""What a venue kind hands the rest of the gateway: one `VenuePlugin` per venue folder, listed in `registry.py`.

The plugin carries the kind's config model (a `[venues.<name>]` section), its builder, and the hooks other
layers call instead of reaching into the venue: the reconciliation reader (the venue's own fills, day orders
and balances), the live statistics read by the metrics, and - for [margin] and [marketdata] - account and
market data. A hook a kind cannot serve stays None; callers say so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from fixgw.model.enums import Side
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.venues.base import Venue
from fixgw.venues.bridge.common.ratelimit import RateLimitUsage
from fixgw.venues.bridge.common.versions import ApiVersionStats
from fixgw.venues.bridge.common.views import VenueFill


class VenueSection(BaseModel):
    """The part of every `[venues.<name>]` section the gateway reads itself; a kind's model extends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """The section key: the venue's routing name (filled in by the config loader)."""
    kind: str
    """Which plugin serves the venue (a `Literal` in each kind's model)."""


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a builder may use beside its own section: the symbol master and the gateway's shared parts."""

    symbols: SymbolMaster
    specs_dir: Path | None = None
    translator_factory: Callable[..., Any] | None = None
    """FIX kinds: (dialect, begin_string, symbols, specs_dir) -> the session's translator."""
    tap: Any = None
    """FIX kinds: the gateway's message tap (drop copy, observers)."""
    wire: Any = None
    """REST kinds: where each request/response goes, masked (`bridge/common/wire.py` WireSink): the journal."""
    send_gate: Callable[[], bool] | None = None
    """REST kinds: HA - a request leaves only while this returns True (the node still holds its lease)."""
    budgets_spent: bool = False
    """REST kinds: request budgets (rate-limit buckets) start empty - an HA node taking over from an active that may
    have just spent them (fixgw/venues/bridge/common/ratelimit.py)."""


@dataclass(frozen=True, slots=True)
class ListedOrder:
    """An order the venue lists for a day, with what reconciliation needs to ask for its fills."""

    venue_order_id: str
    client_order_id: str
    instrument: Instrument
    side: Side


@dataclass(frozen=True, slots=True)
class VenueBalances:
    total: dict[str, Decimal]
    held: dict[str, Decimal]
    """Part of the total reserved for open orders (the venue's margin usage)."""


class VenueReadError(Exception):
    """A venue's record could not be read (unreachable, refused, malformed); the message says why."""


class ReconReader(Protocol):
    """A venue's own record, read for reconciliation and the drift check; async, closed with `aclose`.
    Failures to read are `VenueReadError`."""

    async def fills(self, venue_order_id: str, client_order_id: str, instrument: Instrument) -> list[VenueFill]: ...

    async def listed_orders(self, start: datetime, end: datetime) -> list[ListedOrder]:
        """The venue's list of the window's filled orders, where it has one (else empty)."""

    async def balances(self) -> VenueBalances: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class VenueStats:
    """A venue's live counters for the metrics: request budget (rate-limit bucket) and HTTP outcomes."""

    venue: str
    usage: RateLimitUsage
    requests: int
    retries: int
    unknown_outcomes: int
    clock_offset_s: float
    clock_samples: int = 0
    """Clock readings taken (0: the offset is not measured yet)."""
    clock_alert_threshold_s: float = 0.0
    """The venue's `clock_alert_threshold_s`."""
    probe_rtt_s: float | None = None
    """Round trip of the venue's last good health probe (None: not probed yet)."""
    api_versions: ApiVersionStats | None = None
    """Calls per endpoint and API version, fallbacks, versions withdrawn (a venue with several versions)."""
    endpoint_notices: tuple[EndpointNotice, ...] = ()
    """Endpoints the venue answered with Deprecation, Sunset or Warning headers."""
    rate_used_share: float | None = None
    """Requests over the venue's `headroom_window_s` as a share of its documented rate (None: not measured)."""
    rate_headroom_low: bool = False
    """True from the moment the share reached the venue's `headroom_alert_share` until it drops below again."""
    rate_alert_share: float = 0.0
    """The venue's `headroom_alert_share`."""


@dataclass(frozen=True, slots=True)
class EndpointNotice:
    """What a venue said of one endpoint (method and path template) in its last answer carrying any of the
    `Deprecation` (RFC 9745), `Sunset` (RFC 8594) or `Warning` (RFC 7234) headers."""

    endpoint: str
    deprecated: bool
    deprecated_at: datetime | None
    """When it is (or was) deprecated, if the venue said; `deprecated` may be true without a date."""
    sunset_at: datetime | None
    """When it stops answering."""
    warnings: tuple[str, ...]
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class VenuePlugin:
    kind: str
    """The `kind` a `[venues.<name>]` section names; for the FIX broker, "fix" (configured in `[brokers]`)."""
    settings: type[VenueSection] | None
    """The section's model (validated with secret references resolved); None: not configured in `[venues]`."""
    build: Callable[[str, Any, BuildContext], Venue]
    """(routing name, section, context) -> the venue the router sends to."""
    check: Callable[[str, Any, SymbolMaster | None], list[tuple[str, str]]] | None = None
    """`fixgw check-config`: (name, section, symbols or None if unreadable) -> (key, problem) pairs."""
    summary: Callable[[Any], str] | None = None
    """`fixgw check-config`: one line saying where the venue is and how it is set."""
    recon_reader: Callable[[Any, SymbolMaster], ReconReader] | None = None
    """(section, symbols) -> the venue's own record; None: reconcile it from statements or FIX history."""
    stats: Callable[[Venue], VenueStats | None] | None = None
    """Read on a metrics scrape; must not block longer than a second."""
    account: Callable[[Any, SymbolMaster], Any] | None = None
    """[margin]: (section, symbols) -> make(margin settings) -> (async fetch(now) -> AccountSnapshot, client to
    aclose); the REST kinds read balances and margin (their account.py); FIX brokers are read by fixgw.margin."""
    market_data: Callable[[Any, SymbolMaster], Any] | None = None
    """[marketdata]: (section, symbols) -> the venue's reference-price source; none here yet."""
