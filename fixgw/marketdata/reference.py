"""The composite reference price per instrument: the median of fresh market-data sources, with a state.

Rules (README "Reference prices"):
- A source's quote is fresh while OUR receive time is younger than `max_age_s`; the venue's clock is ignored.
- Of the fresh sources, one further than `divergence_pct` from the median of them all is flagged and left out;
  the reference is the median of the rest (state ok). When every fresh source is flagged (two sources apart,
  or no majority) the state is diverged.
- No fresh source: stale (some source quoted once) or no_reference (none ever did). Then the reference has no
  price unless the instrument's policy is `static`, which falls back to the configured price, marked static.
- An instrument with no live source configured uses its configured price (marked static) as its reference.
Pure: no I/O, no threads; `ReferenceBook` is shared with feed threads through single dict assignments.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import structlog

from fixgw.marketdata.quotes import QUANTUM, MalformedQuote, Quote, make_quote
from fixgw.model.decimals import fmt_decimal
from fixgw.model.orders import utc_now

log = structlog.get_logger("fixgw.marketdata")

_HUNDRED = Decimal(100)
_TWO = Decimal(2)
_CENT = Decimal("0.01")


class ReferenceState(StrEnum):
    OK = "ok"
    STALE = "stale"
    NO_REFERENCE = "no_reference"
    DIVERGED = "diverged"


NoReferencePolicy = Literal["deny", "static"]


@dataclass(frozen=True, slots=True)
class InstrumentPolicy:
    max_age: timedelta = timedelta(seconds=10)
    divergence_pct: Decimal = Decimal(2)
    on_no_reference: NoReferencePolicy = "deny"
    static_price: Decimal | None = None
    live_sources: tuple[str, ...] = ()
    """Names of the market-data sources configured for the instrument (empty: the static price is its reference)."""


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source's latest quote as the composite saw it."""

    quote: Quote
    age: timedelta
    fresh: bool
    divergence_pct: Decimal | None = None
    """Distance from the median of the fresh sources, in % of it (fresh sources only)."""
    flagged: bool = False
    """Fresh, but further than divergence_pct from the others: left out of the reference."""


@dataclass(frozen=True, slots=True)
class Reference:
    instrument_id: str
    state: ReferenceState
    price: Decimal | None
    """What controls use; None: no reference (orders needing one are denied)."""
    static: bool = False
    """`price` is the configured price, not a market observation."""
    age: timedelta | None = None
    """Age of the oldest quote the price was made of."""
    sources: tuple[SourceView, ...] = ()
    why: str = ""
    """For states other than ok: what the operator (and a denial's Text) is told."""

    @property
    def label(self) -> str:
        """How a denial names the reference: "configured" (static), a source's name, "median of a, b", ..."""
        if self.static:
            return "configured"
        used = [view.quote.source for view in self.sources if view.fresh and not view.flagged]
        if len(used) == 1:
            return used[0]
        return "median of " + ", ".join(used) if used else self.state.value


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ((ordered[middle - 1] + ordered[middle]) / _TWO).quantize(QUANTUM)


def compose(instrument_id: str, quotes: Iterable[Quote], policy: InstrumentPolicy, now: datetime) -> Reference:
    """The reference of one instrument from its sources' latest quotes (pure)."""
    views: list[SourceView] = []
    fresh: list[Quote] = []
    for quote in quotes:
        age = now - quote.received_at
        is_fresh = age <= policy.max_age
        if is_fresh:
            fresh.append(quote)
        else:
            views.append(SourceView(quote, age, False))
    if fresh:
        middle = median([quote.mid for quote in fresh])
        used: list[Quote] = []
        for quote in fresh:
            away = abs(quote.mid - middle) * _HUNDRED / middle
            flagged = len(fresh) > 1 and away > policy.divergence_pct
            views.append(SourceView(quote, now - quote.received_at, True, away, flagged))
            if not flagged:
                used.append(quote)
        views.sort(key=lambda view: view.quote.source)
        if used:
            oldest = max(now - quote.received_at for quote in used)
            return Reference(instrument_id, ReferenceState.OK, median([q.mid for q in used]), False, oldest,
                             tuple(views))
        spread = ", ".join(f"{v.quote.source} {fmt_decimal(v.quote.mid)}" for v in views if v.fresh)
        return _fallback(instrument_id, ReferenceState.DIVERGED, policy, tuple(views),
                         f"sources diverge by more than {fmt_decimal(policy.divergence_pct)}% ({spread})")
    views.sort(key=lambda view: view.quote.source)
    if not policy.live_sources and not views:
        if policy.static_price is not None:
            return Reference(instrument_id, ReferenceState.OK, policy.static_price, True)
        return Reference(instrument_id, ReferenceState.NO_REFERENCE, None,
                         why="no market-data source and no configured price")
    if views:
        ages = ", ".join(f"{v.quote.source} {_seconds(v.age)}s old" for v in views)
        return _fallback(instrument_id, ReferenceState.STALE, policy, tuple(views),
                         f"no source younger than {_seconds(policy.max_age)}s ({ages})")
    return _fallback(instrument_id, ReferenceState.NO_REFERENCE, policy, (),
                     f"no quote yet from {', '.join(policy.live_sources)}")


def _fallback(instrument_id: str, state: ReferenceState, policy: InstrumentPolicy, views: tuple[SourceView, ...],
              why: str) -> Reference:
    if policy.on_no_reference == "static" and policy.static_price is not None:
        return Reference(instrument_id, state, policy.static_price, True, None, views,
                         why + "; using the static configured price")
    return Reference(instrument_id, state, None, False, None, views, why)


def _seconds(age: timedelta) -> str:
    return fmt_decimal(Decimal(age.total_seconds()).quantize(Decimal("0.1")))


@dataclass(frozen=True, slots=True)
class ReferenceChange:
    """A state change the operator must hear about (an alert), found by `ReferenceBook.changes`."""

    kind: Literal["state", "divergence"]
    instrument_id: str
    message: str
    detail: Mapping[str, str] = field(default_factory=dict)


class ReferenceBook:
    """The latest quote of every (instrument, source) and the policy of each instrument.

    Feed threads call `offer`/`offer_raw`; the router thread calls `current` on the order path; displays call
    `reference`/`references` from any thread. Each quote is one dict assignment (atomic under the GIL), so no
    lock is taken on either path.
    """

    def __init__(self, policies: Mapping[str, InstrumentPolicy], *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._policies = dict(policies)
        self._quotes: dict[str, dict[str, Quote]] = {}
        self._clock = clock
        self._dropped: dict[tuple[str, str], int] = {}
        self._dropped_lock = threading.Lock()
        self._seen_states: dict[str, ReferenceState] = {}
        self._seen_flagged: dict[str, frozenset[str]] = {}
        self._sequence = itertools.count(1)
        self._versions: dict[str, int] = {}
        """Bumped after every quote an instrument keeps: what the order path's cache is valid for."""
        self._cache: dict[str, tuple[int, Mapping[str, InstrumentPolicy], datetime, Reference]] = {}
        self._born = clock()
        """Sources get `max_age` after this to quote before a missing reference is reported."""

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    def set_policies(self, policies: Mapping[str, InstrumentPolicy]) -> None:
        """A reload: the next lookup uses the new policies (one assignment)."""
        self._policies = dict(policies)

    def policy(self, instrument_id: str) -> InstrumentPolicy | None:
        return self._policies.get(instrument_id)

    def instruments(self) -> list[str]:
        return sorted(set(self._policies) | set(self._quotes))

    def offer(self, quote: Quote) -> None:
        """Keep `quote` as its source's latest: the newest by our receive time wins."""
        by_source = self._quotes.get(quote.instrument_id)
        if by_source is None:
            by_source = self._quotes.setdefault(quote.instrument_id, {})
        held = by_source.get(quote.source)
        if held is None or quote.received_at >= held.received_at:
            by_source[quote.source] = quote
            # Bumped after the quote is in: no reader caches a version whose quote it did not see.
            self._versions[quote.instrument_id] = next(self._sequence)

    def offer_raw(self, source: str, instrument_id: str, *, bid: Any = None, ask: Any = None, last: Any = None,
                  venue_time: datetime | None = None) -> Quote | None:
        """Validate a source's raw prices and keep the quote; a malformed one is dropped, counted and logged."""
        try:
            quote = make_quote(source, instrument_id, self._clock(), bid=bid, ask=ask, last=last,
                               venue_time=venue_time)
        except MalformedQuote as exc:
            with self._dropped_lock:
                key = (source, exc.reason)
                self._dropped[key] = self._dropped.get(key, 0) + 1
            log.warning("marketdata.quote_dropped", source=source, instrument=instrument_id, reason=exc.reason,
                        error=str(exc))
            return None
        self.offer(quote)
        return quote

    def dropped(self) -> dict[tuple[str, str], int]:
        """Malformed quotes dropped, by (source, reason)."""
        with self._dropped_lock:
            return dict(self._dropped)

    def reference(self, instrument_id: str, now: datetime | None = None) -> Reference:
        policy = self._policies.get(instrument_id)
        by_source = self._quotes.get(instrument_id)
        quotes = list(by_source.values()) if by_source else []
        if policy is None:
            policy = _UNCONFIGURED
        elif policy.live_sources:
            quotes = [quote for quote in quotes if quote.source in policy.live_sources]
        return compose(instrument_id, quotes, policy, now or self._clock())

    def current(self, instrument_id: str) -> Reference:
        """The reference for the order path: `reference(instrument_id)` computed once and reused until a quote
        arrives, a quote it used turns stale, or the policies change (the price and state are exact; the ages in
        it are those of when it was computed)."""
        now = self._clock()
        version = self._versions.get(instrument_id, 0)
        policies = self._policies
        cached = self._cache.get(instrument_id)
        if cached is not None and cached[0] == version and cached[1] is policies and now < cached[2]:
            return cached[3]
        reference = self.reference(instrument_id, now)
        policy = policies.get(instrument_id, _UNCONFIGURED)
        valid_until = min((view.quote.received_at + policy.max_age for view in reference.sources if view.fresh),
                          default=_NEVER)
        self._cache[instrument_id] = (version, policies, valid_until, reference)
        return reference

    def references(self, now: datetime | None = None) -> list[Reference]:
        now = now or self._clock()
        return [self.reference(instrument_id, now) for instrument_id in self.instruments()]

    def changes(self, now: datetime | None = None,
                references: Iterable[Reference] | None = None) -> list[ReferenceChange]:
        """What changed since the last call: a state other than ok entered or left, a source flagged as
        diverging. Called periodically (once a second) by whoever raises alerts (with `references` when it has
        them already); the first call reports only states other than ok."""
        found: list[ReferenceChange] = []
        now = now or self._clock()
        for reference in references if references is not None else self.references(now):
            instrument = reference.instrument_id
            before = self._seen_states.get(instrument, ReferenceState.OK)
            policy = self._policies.get(instrument, _UNCONFIGURED)
            if before is ReferenceState.OK and reference.state in _NOT_YET and now - self._born <= policy.max_age:
                continue   # starting: the sources have not had their chance to quote yet
            if reference.state is not before:
                self._seen_states[instrument] = reference.state
                message = (f"reference price of {instrument} is {reference.state.value}"
                           + (f": {reference.why}" if reference.why else ""))
                found.append(ReferenceChange("state", instrument, message,
                                             {"state": reference.state.value, "previous": before.value}))
            flagged = frozenset(view.quote.source for view in reference.sources if view.flagged)
            newly = flagged - self._seen_flagged.get(instrument, frozenset())
            self._seen_flagged[instrument] = flagged
            for view in reference.sources:
                if view.quote.source in newly and view.divergence_pct is not None:
                    found.append(ReferenceChange(
                        "divergence", instrument,
                        f"{view.quote.source} quotes {instrument} at {fmt_decimal(view.quote.mid)}, "
                        f"{fmt_decimal(view.divergence_pct.quantize(_CENT))}% from the median of the fresh sources: "
                        f"left out of the reference",
                        {"source": view.quote.source, "divergence_pct": fmt_decimal(view.divergence_pct)}))
        return found


_UNCONFIGURED = InstrumentPolicy()
_NOT_YET = (ReferenceState.NO_REFERENCE, ReferenceState.STALE)
_NEVER = datetime.max.replace(tzinfo=UTC)
