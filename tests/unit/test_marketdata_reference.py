"""The composite reference: median of fresh sources, divergence, staleness by our receive time, bad prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from fixgw.marketdata.quotes import MalformedQuote, make_quote
from fixgw.marketdata.reference import (
    InstrumentPolicy,
    ReferenceBook,
    ReferenceState,
    compose,
    median,
)

D = Decimal
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BTC = "BTC/USD"
POLICY = InstrumentPolicy(max_age=timedelta(seconds=5), divergence_pct=D(1), live_sources=("a", "b", "c", "d"))


def q(source: str, mid: str, age_s: float = 0.0, **kw: object):  # type: ignore[no-untyped-def]
    return make_quote(source, BTC, T0 - timedelta(seconds=age_s), last=mid, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("quotes", "state", "price", "flagged"), [
    # one fresh source is the reference
    ([("a", "100", 0)], "ok", "100", []),
    # odd count: the middle one
    ([("a", "100", 0), ("b", "100.5", 1), ("c", "99.8", 2)], "ok", "100", []),
    # even count: the mean of the middle two
    ([("a", "100", 0), ("b", "100.4", 0)], "ok", "100.2", []),
    # an outlier among three is flagged and left out
    ([("a", "100", 0), ("b", "100.2", 0), ("c", "110", 0)], "ok", "100.1", ["c"]),
    # a stale source does not count, even an outlier
    ([("a", "100", 0), ("b", "150", 6)], "ok", "100", []),
    # two sources apart: nobody knows which is right
    ([("a", "100", 0), ("b", "103", 0)], "diverged", None, ["a", "b"]),
    # no majority
    ([("a", "100", 0), ("b", "100", 0), ("c", "120", 0), ("d", "120", 0)], "diverged", None, ["a", "b", "c", "d"]),
    # all stale
    ([("a", "100", 5.5), ("b", "100", 60)], "stale", None, []),
    # none ever quoted
    ([], "no_reference", None, []),
])
def test_median_divergence_and_staleness(quotes: list[tuple[str, str, float]], state: str, price: str | None,
                                         flagged: list[str]) -> None:
    reference = compose(BTC, [q(*row) for row in quotes], POLICY, T0)
    assert reference.state == ReferenceState(state)
    assert reference.price == (None if price is None else D(price))
    assert [v.quote.source for v in reference.sources if v.flagged] == flagged
    assert not reference.static
    if state != "ok":
        assert reference.why


def test_mid_of_bid_and_ask_is_the_source_price() -> None:
    quote = make_quote("a", BTC, T0, bid="99", ask="101.5")
    assert quote.mid == D("100.25")
    assert compose(BTC, [quote], POLICY, T0).price == D("100.25")
    tiny = make_quote("a", BTC, T0, bid="0.0000000001", ask="0.0000000002")
    assert tiny.mid == D("0.0000000002")                      # kept at the canonical scale (10 places)
    assert median([D("0.0000000001"), D("0.0000000004")]) == D("0.0000000002")


def test_a_source_is_fresh_up_to_max_age_inclusive() -> None:
    assert compose(BTC, [q("a", "100", 5)], POLICY, T0).state is ReferenceState.OK
    assert compose(BTC, [q("a", "100", 5.001)], POLICY, T0).state is ReferenceState.STALE


def test_static_price_only_when_policy_says_so() -> None:
    deny = InstrumentPolicy(live_sources=("a",), static_price=D(90))
    fallback = InstrumentPolicy(live_sources=("a",), static_price=D(90), on_no_reference="static")
    denied = compose(BTC, [], deny, T0)
    assert (denied.state, denied.price) == (ReferenceState.NO_REFERENCE, None)
    used = compose(BTC, [], fallback, T0)
    assert (used.state, used.price, used.static) == (ReferenceState.NO_REFERENCE, D(90), True)
    assert "static" in used.why
    live = compose(BTC, [q("a", "100")], fallback, T0)
    assert (live.price, live.static) == (D(100), False)


def test_instrument_without_live_sources_uses_its_configured_price_marked_static() -> None:
    reference = compose(BTC, [], InstrumentPolicy(static_price=D(42)), T0)
    assert (reference.state, reference.price, reference.static) == (ReferenceState.OK, D(42), True)
    assert reference.label == "configured"
    nothing = compose(BTC, [], InstrumentPolicy(), T0)
    assert (nothing.state, nothing.price) == (ReferenceState.NO_REFERENCE, None)


@pytest.mark.parametrize(("raw", "reason"), [
    ({"last": "-1"}, "not_positive"),
    ({"last": "0"}, "not_positive"),
    ({"last": "abc"}, "not_a_number"),
    ({"last": "NaN"}, "not_a_number"),
    ({"last": "Infinity"}, "not_a_number"),
    ({"last": 100.5}, "not_a_number"),        # a float is refused, never rounded
    ({"last": "1e-20"}, "not_a_number"),      # beyond the canonical scale
    ({"bid": "101", "ask": "100"}, "crossed"),
    ({}, "no_price"),
])
def test_malformed_prices_are_refused(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(MalformedQuote) as info:
        make_quote("a", BTC, T0, **raw)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_book_drops_and_counts_malformed_quotes_and_keeps_the_last_good_one() -> None:
    book = ReferenceBook({BTC: POLICY}, clock=lambda: T0)
    assert book.offer_raw("a", BTC, last="100") is not None
    with capture_logs() as logs:
        assert book.offer_raw("a", BTC, last="-5") is None
        assert book.offer_raw("a", BTC, bid="x", ask="1") is None
        assert book.offer_raw("a", BTC, last="-6") is None
    assert book.dropped() == {("a", "not_positive"): 2, ("a", "not_a_number"): 1}
    assert [e["reason"] for e in logs if e["event"] == "marketdata.quote_dropped"] == [
        "not_positive", "not_a_number", "not_positive"]
    assert book.reference(BTC).price == D(100)


def test_a_skewed_venue_clock_cannot_freeze_the_reference() -> None:
    """A venue clock an hour ahead stamps its first quote in the future; later quotes still replace it, and it
    goes stale by our clock, not by its own."""
    now = [T0]
    book = ReferenceBook({BTC: POLICY}, clock=lambda: now[0])
    book.offer_raw("a", BTC, last="100", venue_time=T0 + timedelta(hours=1))
    now[0] = T0 + timedelta(seconds=1)
    book.offer_raw("a", BTC, last="101", venue_time=T0 - timedelta(hours=1))   # the venue's clock jumped back
    assert book.reference(BTC).price == D(101)
    now[0] = T0 + timedelta(seconds=7)
    assert book.reference(BTC).state is ReferenceState.STALE    # a future venue stamp keeps nothing alive


def test_an_older_receive_time_never_replaces_a_newer_quote() -> None:
    book = ReferenceBook({BTC: POLICY}, clock=lambda: T0)
    book.offer(q("a", "101", 0))
    book.offer(q("a", "100", 2))
    assert book.reference(BTC).price == D(101)


def test_sources_not_configured_for_the_instrument_are_ignored() -> None:
    book = ReferenceBook({BTC: InstrumentPolicy(live_sources=("a",))}, clock=lambda: T0)
    book.offer(q("a", "100"))
    book.offer(q("zz", "500"))
    reference = book.reference(BTC)
    assert reference.price == D(100)
    assert [v.quote.source for v in reference.sources] == ["a"]


def test_changes_report_state_transitions_and_new_divergences_once() -> None:
    now = [T0]
    book = ReferenceBook({BTC: POLICY}, clock=lambda: now[0])
    assert book.changes() == []                                  # starting: sources get max_age to quote
    now[0] = T0 + timedelta(seconds=5, microseconds=1)
    assert [(c.kind, c.detail["state"]) for c in book.changes()] == [("state", "no_reference")]
    for source, price in (("a", "100"), ("b", "100.1"), ("c", "108")):
        book.offer_raw(source, BTC, last=price)
    changes = book.changes()
    assert sorted((c.kind, c.detail.get("source", c.detail.get("state"))) for c in changes) == [
        ("divergence", "c"), ("state", "ok")]
    assert book.changes() == []
    now[0] = T0 + timedelta(seconds=30)
    assert [(c.kind, c.detail["state"]) for c in book.changes()] == [("state", "stale")]


prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)


@given(st.lists(prices, min_size=1, max_size=9))
def test_median_is_order_free_and_between_the_extremes(values: list[Decimal]) -> None:
    middle = median(values)
    assert min(values) <= middle <= max(values)
    assert median(list(reversed(values))) == middle
    assert sum(v < middle for v in values) <= len(values) // 2
    assert sum(v > middle for v in values) <= len(values) // 2


@given(st.lists(prices, min_size=1, max_size=9), st.decimals(min_value=D("0.1"), max_value=D(50), places=1))
def test_reference_is_never_a_flagged_source_and_within_the_divergence_of_the_median(
        values: list[Decimal], pct: Decimal) -> None:
    policy = InstrumentPolicy(divergence_pct=pct, live_sources=tuple(f"s{i}" for i in range(len(values))))
    quotes = [make_quote(f"s{i}", BTC, T0, last=v) for i, v in enumerate(values)]
    reference = compose(BTC, quotes, policy, T0)
    middle = median(values)
    if reference.state is ReferenceState.OK:
        assert reference.price is not None
        used = [v.quote.mid for v in reference.sources if not v.flagged]
        assert used and min(used) <= reference.price <= max(used)
        assert all(abs(u - middle) * 100 <= pct * middle for u in used)
    else:
        assert reference.state is ReferenceState.DIVERGED and reference.price is None
        assert all(v.flagged for v in reference.sources)


def test_the_order_paths_cached_reference_follows_quotes_staleness_and_policies() -> None:
    now = [T0]
    book = ReferenceBook({BTC: POLICY}, clock=lambda: now[0])
    assert book.current(BTC).state is ReferenceState.NO_REFERENCE
    book.offer_raw("a", BTC, last="100")
    first = book.current(BTC)
    assert first.price == D(100) and book.current(BTC) is first          # reused while nothing changed
    now[0] = T0 + timedelta(seconds=2)
    book.offer_raw("b", BTC, last="100.4")
    assert book.current(BTC).price == D("100.2")                          # a new quote: recomputed
    now[0] = T0 + timedelta(seconds=5, microseconds=1)                   # "a" turns stale
    assert book.current(BTC).price == D("100.4")
    now[0] = T0 + timedelta(seconds=8)
    assert book.current(BTC).state is ReferenceState.STALE
    book.set_policies({BTC: InstrumentPolicy(max_age=timedelta(seconds=60), live_sources=("a", "b"))})
    assert book.current(BTC).price == D("100.2")                          # new policies: recomputed
