"""The margin service of a running gateway: pulls every margin venue's account data every `margin.snapshot_s`
(and on demand), values it with the engine, journals it, alerts once per state change, pauses a venue whose
PB-reported figure drifts from ours, accrues interest daily, and holds the reduce-only guard the risk chain asks.

Threads: the pulls run on the service's own asyncio loop thread; `check` runs on the router thread and reads one
dict that a snapshot replaces whole (no lock on the order path).
"""

from __future__ import annotations

import asyncio
import json
import threading
import tomllib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import structlog

from fixgw.margin.settings import MarginConfig, MarginVenueConfig
from fixgw.margin.view import VenueView, book_json, status_json, value_venue
from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import OrdRejReason, Side
from fixgw.model.instruments import Instrument
from fixgw.model.margin import STATE_ORDER, MarginState
from fixgw.model.margin_haircuts import MarginTable, realized_vol_daily
from fixgw.model.margin_interest import accrue_interest
from fixgw.model.margin_snapshot import AccountSnapshot
from fixgw.model.orders import NewOrder, utc_now
from fixgw.router.core import Denial
from fixgw.store.jobruns import JobClaims
from fixgw.store.journal import Journal, JournalBatch
from fixgw.store.margin import MarginRow, MarginStore

log = structlog.get_logger("fixgw.margin")

LAST_STATE = "margin.last"
BOOKS_STATE = "margin.books"
INTEREST_STATE = "margin.interest"
"""The latest daily accrual per venue: {venue: {"day", "accruals": [{asset, borrowed, annual_rate, ...}]}}."""
ALERT_KIND = "margin"
WHO = "margin"
_RATIO = Decimal("0.0001")

PriceLookup = Callable[[str, str], Decimal | None]
"""(asset, account currency) -> the reference price, or None when there is none (never our own fill price)."""
AlertHook = Callable[[str, str, dict[str, str]], None]
"""(venue, message, detail) -> raise the alert (detail carries `severity`)."""
PauseHook = Callable[[str, str], None]
"""(venue, reason) -> pause trading at the venue (the kill switch)."""
Fetcher = Callable[[datetime], Awaitable[AccountSnapshot]]


@dataclass(frozen=True, slots=True)
class VenueFillReport:
    fill_id: str
    quantity: Decimal
    price: Decimal
    time: datetime | None
    commission: Decimal | None


@dataclass(frozen=True, slots=True)
class VenueOrderReport:
    """An order as the venue lists it, with its fills (what a venue-originated order is booked from)."""

    venue: str
    client_order_id: str
    venue_order_id: str
    symbol: str
    """In the venue's own scheme (Coinbase `product_id`)."""
    side: Side
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    fills: tuple[VenueFillReport, ...]


OrdersHook = Callable[[str, str, str, list[VenueOrderReport]], None]
"""(venue, EMS session, account, orders with new fills) -> book those the router does not know (on its thread)."""


@dataclass(frozen=True, slots=True)
class Guard:
    """What the reduce-only check needs of a venue in reduce_only or critical state."""

    state: MarginState
    ratio: Decimal | None
    threshold: Decimal
    net: Mapping[str, Decimal]


def load_table(path: Any) -> MarginTable:
    with open(path, "rb") as handle:
        return MarginTable.from_mapping(tomllib.load(handle))


def build_fetchers(venues: Mapping[str, Any], settings: Mapping[str, MarginVenueConfig],
                   brokers: Mapping[str, Callable[[], Any]] | None = None, symbols: Any = None) -> dict[str, Any]:
    """One fetcher factory per margin venue: its venue plugin's `account` hook for a `[venues]` section, the
    RequestForPositions / CollateralInquiry reader for a FIX broker session (`brokers`: name -> the live venue)."""
    from fixgw.margin.fix_source import fix_broker_factory
    from fixgw.venues.registry import plugin_for

    factories: dict[str, Any] = {}
    for name, venue_settings in settings.items():
        section = venues.get(name)
        if brokers is not None and name in brokers:
            factories[name] = fix_broker_factory(name, brokers[name], venue_settings)
            continue
        hook = plugin_for(section.kind).account if section is not None else None
        if hook is None:
            raise ValueError(f"margin.venues.{name}: no account-data source for this venue kind")
        factories[name] = partial(_reader, hook, section, symbols, venue_settings)
    return factories


def _reader(hook: Callable[[Any, Any], Any], section: Any, symbols: Any,
            settings: MarginVenueConfig) -> tuple[Fetcher, Any]:
    make: Callable[[MarginVenueConfig], tuple[Fetcher, Any]] = hook(section, symbols)
    return make(settings)


def coinbase_orders(http: Any) -> Callable[[datetime, dict[str, Decimal]], Awaitable[list[VenueOrderReport]]]:
    """Orders listed since `since` whose filled quantity grew past what was handed over, with their fills."""

    async def orders(since: datetime, handed: dict[str, Decimal]) -> list[VenueOrderReport]:
        found = []
        for order in await http.list_orders(since):
            if order.filled_quantity <= handed.get(order.id, Decimal(0)):
                continue
            fills = await http.order_fills(order.id)
            found.append(VenueOrderReport(
                http.config.name, order.client_order_id, order.id, order.product_id,
                Side.BUY if order.side == "BUY" else Side.SELL, order.base_quantity or order.filled_quantity,
                order.type, order.limit_price,
                tuple(VenueFillReport(f.id, f.filled_quantity, f.price, f.time, f.commission) for f in fills)))
            handed[order.id] = order.filled_quantity
        return found

    return orders


class MarginService:
    def __init__(self, config: MarginConfig, venues: Mapping[str, Any], journal: Journal, table: MarginTable, *,
                 prices: PriceLookup, alert: AlertHook | None = None, pause: PauseHook | None = None,
                 clock: Callable[[], datetime] = utc_now, fetchers: Mapping[str, Fetcher] | None = None,
                 venue_orders: OrdersHook | None = None,
                 brokers: Mapping[str, Callable[[], Any]] | None = None, claims: JobClaims | None = None) -> None:
        self.config = config
        self.claims = claims
        """HA: snapshots at fixed slots, each recorded once whoever is active (fixgw/ha/jobs.py)."""
        self.journal = journal
        self.store = MarginStore(journal)
        self.table = table
        self._prices = prices
        self._alert = alert
        self._pause = pause
        self._clock = clock
        self._factories = {} if fetchers is not None else build_fetchers(venues, config.venues, brokers)
        self._fetchers: dict[str, Fetcher] = dict(fetchers or {})
        """Built on the service's loop at the first pull (their HTTP clients belong to that loop)."""
        self._venue_orders = venue_orders
        self._order_listers: dict[str, Any] = {}
        self._handed: dict[str, dict[str, Decimal]] = {}
        self._since = clock() - timedelta(seconds=config.snapshot_s)
        self._clients: list[Any] = []
        self._history: dict[str, deque[Decimal]] = {}
        self._states: dict[str, MarginState] = {}
        self._paused: set[str] = set()
        self._interest_day: date | None = None
        self.guards: dict[str, Guard] = {}
        """Venues in reduce_only or critical state; replaced whole by each snapshot."""
        self.last: dict[str, Any] | None = None
        self.views: list[VenueView] = []
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fixgw-margin", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._close_clients())
            self._loop.close()

    async def _close_clients(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients.clear()

    def _run(self) -> None:
        if self.claims is not None:
            self._run_claimed()
            return
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # a venue or journal hiccup: try again at the next snapshot
                log.warning("margin.snapshot_failed", error=repr(exc))
            self._stop.wait(self.config.snapshot_s)

    def _run_claimed(self) -> None:
        """HA: a snapshot per slot of snapshot_s (anchored, the same slots on every node), recorded once whoever is
        active. At takeover the current slot runs at once unless the old active recorded it; then this node pulls
        without recording, for its own pre-trade guards."""
        from apscheduler.triggers.interval import IntervalTrigger

        from fixgw.ha.jobs import ANCHOR, ClaimedJob
        from fixgw.recon.cron import latest_fire_time

        period = timedelta(seconds=self.config.snapshot_s)
        trigger = IntervalTrigger(seconds=self.config.snapshot_s, start_date=ANCHOR, timezone="UTC")
        job = ClaimedJob("margin-snapshot", trigger, lambda _fire: self._snapshot(), self.claims, grace=period,
                         clock=self._clock)
        warm = False
        while not self._stop.is_set():
            now = self._clock()
            fire = latest_fire_time(trigger, now, period) or now
            try:
                if not job(fire) and not warm:
                    self.refresh(record=False)
                warm = True
            except Exception as exc:  # the journal unreachable: try again at the next slot
                log.warning("margin.snapshot_failed", error=repr(exc))
            next_fire = trigger.get_next_fire_time(fire, self._clock())
            wait = (next_fire - self._clock()).total_seconds() if next_fire else period.total_seconds()
            self._stop.wait(max(0.0, wait))

    def _snapshot(self) -> bool:
        try:
            self.refresh()
            return True
        except Exception as exc:  # a venue or journal hiccup: try again at the next snapshot
            log.warning("margin.snapshot_failed", error=repr(exc))
            return False

    # ------------------------------------------------------------------ one snapshot

    def refresh(self, *, record: bool = True) -> dict[str, Any]:
        """Pull, value, journal and publish once (the scheduled loop and on-demand callers share it). Without
        `record` (an HA node taking over a slot the old active recorded): the views and guards only."""
        with self._lock:
            now = self._clock()
            snapshots = self._loop.run_until_complete(self._pull(now))
            if not record:
                views = [self._value(snapshot) for snapshot in snapshots]
                self._states.update({view.snapshot.venue: view.state for view in views})
                self._publish(views, status_json(now, views, cross_venue_netting=self.config.cross_venue_netting))
                return self.last or {}
            self._relay_venue_orders()
            views = [self._value(snapshot) for snapshot in snapshots]
            status = status_json(now, views, cross_venue_netting=self.config.cross_venue_netting)
            rows = self._rows(now, views, status)
            self.store.record(rows)
            state = {LAST_STATE: json.dumps(status), BOOKS_STATE: json.dumps([book_json(view) for view in views])}
            interest = {row.venue: row.detail for row in rows if row.kind == "interest"}
            if interest:
                state[INTEREST_STATE] = json.dumps(interest)
            self.journal.write(JournalBatch(state=state))
            self._publish(views, status)
            return status

    def _publish(self, views: list[VenueView], status: dict[str, Any]) -> None:
        self.views, self.last = views, status
        self.guards = {view.snapshot.venue: self._guard(view) for view in views
                       if view.state in (MarginState.REDUCE_ONLY, MarginState.CRITICAL)}

    def _relay_venue_orders(self) -> None:
        """Hand every listed order with new fills to the router, which books the venue's own (liquidations)."""
        if self._venue_orders is None:
            return
        for name, lister in self._order_listers.items():
            settings = self.config.venues[name]
            try:
                found = self._loop.run_until_complete(lister(self._since, self._handed.setdefault(name, {})))
            except Exception as exc:  # the next snapshot asks again
                log.warning("margin.venue_orders_unreadable", venue=name, error=repr(exc))
                continue
            if found:
                self._venue_orders(name, settings.report_to, settings.account, found)

    async def _pull(self, now: datetime) -> list[AccountSnapshot]:
        if not self._fetchers:
            for name, make in self._factories.items():
                fetch, client = make()
                self._fetchers[name] = fetch
                self._clients.append(client)
                if self.config.venues[name].report_to and hasattr(client, "list_orders"):
                    self._order_listers[name] = coinbase_orders(client)
        names = sorted(self._fetchers)
        results = await asyncio.gather(*(self._fetchers[name](now) for name in names), return_exceptions=True)
        snapshots = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("margin.venue_unreadable", venue=name, error=repr(result))
                continue
            snapshots.append(result)
        return snapshots

    def _value(self, snapshot: AccountSnapshot) -> VenueView:
        settings = self.config.venues[snapshot.venue]
        currency = snapshot.account.currency
        prices: dict[str, Decimal] = {}
        sigmas: dict[str, Decimal] = {}
        interval = timedelta(seconds=self.config.snapshot_s)
        for pool in snapshot.account.pools:
            for balance in pool.balances:
                asset = balance.asset
                if asset == currency or asset in prices:
                    continue
                price = self._prices(asset, currency) or snapshot.marks.get(asset)
                if price is None:
                    continue
                prices[asset] = price
                history = self._history.setdefault(f"{asset}/{currency}", deque(maxlen=self.config.vol_samples))
                history.append(price)
                sigma = realized_vol_daily(list(history), interval)
                if sigma is not None:
                    sigmas[asset] = sigma
        return value_venue(snapshot, prices, self.table, sigmas, settings.thresholds, settings.asset_class)

    def _rows(self, now: datetime, views: list[VenueView], status: dict[str, Any]) -> list[MarginRow]:
        rows = []
        for view in views:
            venue = view.snapshot.venue
            figures = status["venues"][venue]
            state = view.state
            rows.append(MarginRow(now, venue, "snapshot", state.value, figures["margin_ratio"], figures))
            previous = self._states.get(venue, MarginState.OK)
            if state is not previous:
                self._states[venue] = state
                message = self._describe_change(view, previous)
                rows.append(MarginRow(now, venue, "state_change", state.value, figures["margin_ratio"],
                                      {"message": message}, previous.value))
                self._raise(venue, message, {"state": state.value, "previous": previous.value,
                                             "margin_ratio": figures["margin_ratio"] or "",
                                             "severity": "critical" if state is MarginState.CRITICAL else
                                             "warning"})
            drift = view.drift_pct
            if drift is not None and drift > self.config.drift_pause_pct and venue not in self._paused:
                self._paused.add(venue)
                reason = (f"margin drift {fmt_decimal(drift.quantize(_RATIO))}% against the PB's "
                          f"{view.snapshot.drift_measure} (pause above {fmt_decimal(self.config.drift_pause_pct)}%)")
                rows.append(MarginRow(now, venue, "drift_pause", state.value, figures["margin_ratio"],
                                      {"drift_pct": figures["drift_pct"], "reason": reason}))
                self._raise(venue, f"{venue}: {reason}; trading paused", {"severity": "critical"})
                if self._pause is not None:
                    self._pause(venue, reason)
            elif drift is not None and drift <= self.config.drift_pause_pct:
                self._paused.discard(venue)
        if self._interest_day != now.date():
            self._interest_day = now.date()
            for view in views:
                accruals = accrue_interest(view.snapshot.account, self.table)
                if accruals:
                    rows.append(MarginRow(now, view.snapshot.venue, "interest", view.state.value, None, {
                        "day": now.date().isoformat(),
                        "accruals": [{"asset": a.asset, "borrowed": fmt_decimal(a.borrowed),
                                      "annual_rate": fmt_decimal(a.annual_rate), "source": a.source,
                                      "accrued": fmt_decimal(a.accrued.quantize(Decimal("0.0000000001")))}
                                     for a in accruals]}))
        return rows

    def _describe_change(self, view: VenueView, previous: MarginState) -> str:
        venue, state = view.snapshot.venue, view.state
        if view.figures is None:
            return f"margin at {venue} is critical: {view.error}"
        ratio = view.figures.margin_ratio
        ratio_text = "none required" if ratio is None else fmt_decimal(ratio.quantize(_RATIO))
        if view.snapshot.account.margin_call:
            why = "the PB reports a margin call"
        else:
            levels = view.thresholds
            why = (f"thresholds warn < {fmt_decimal(levels.warn)}, reduce_only < {fmt_decimal(levels.reduce_only)},"
                   f" critical < {fmt_decimal(levels.critical)}")
        direction = "up" if STATE_ORDER.index(state) > STATE_ORDER.index(previous) else "down"
        return (f"margin at {venue} {state.value} (from {previous.value}, {direction}): margin ratio {ratio_text}"
                f" ({why})")

    def _raise(self, venue: str, message: str, detail: dict[str, str]) -> None:
        log.warning("margin.alert", venue=venue, message=message, **detail)
        if self._alert is not None:
            self._alert(venue, message, detail)

    def _guard(self, view: VenueView) -> Guard:
        net: dict[str, Decimal] = {}
        for pool in view.snapshot.account.pools:
            for balance in pool.balances:
                net[balance.asset] = net.get(balance.asset, Decimal(0)) + balance.net
        ratio = view.figures.margin_ratio if view.figures is not None else None
        return Guard(view.state, ratio, view.thresholds.reduce_only, net)

    # ------------------------------------------------------------------ the risk chain (router thread)

    def check(self, session: str, order: NewOrder, instrument: Instrument, venue: str) -> Denial | None:
        """PreTradeCheck: at a venue in reduce_only (or critical) state only orders that reduce the position in the
        instrument's base asset pass; the rest are denied with Text naming the ratio."""
        guard = self.guards.get(venue)
        if guard is None:
            return None
        base = instrument.base_currency or instrument.id.split("/")[0]
        net = guard.net.get(base, Decimal(0))
        sells = order.side is not Side.BUY
        if (sells and 0 < order.order_qty <= net) or (not sells and 0 < order.order_qty <= -net):
            return None
        ratio = "unknown" if guard.ratio is None else fmt_decimal(guard.ratio.quantize(_RATIO))
        return Denial(OrdRejReason.BROKER_OPTION,
                      f"margin {guard.state.value} at {venue}: margin ratio {ratio} is below "
                      f"{fmt_decimal(guard.threshold)}; only orders reducing the {base} position there are accepted")


def read_last(journal: Any, key: str = LAST_STATE) -> dict[str, Any] | None:
    """The latest published status JSON (or `key`'s: INTEREST_STATE) of any process on the journal, or None."""
    try:
        text = journal.get_state(key)
        return json.loads(text) if text else None
    except Exception:  # a closed or unreachable journal: the page and the scrape go on without margin
        return None
