"""Market-data sources against the real crypto-PB simulator on loopback: Binance bookTicker, Coinbase Prime
l2_data (signed WebSocket), the generic JSON oracle; its price process drives all three."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs
from waiting import wait_until

from fixgw.marketdata.feeds import MarketDataFeeds, build_sources
from fixgw.marketdata.reference import ReferenceBook, ReferenceState
from fixgw.marketdata.settings import MarketDataConfig
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.falconx.config import FalconXConfig

pytestmark = pytest.mark.timeout(60)
D = Decimal
BTC = "BTC/USD"


@pytest.fixture
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator(access_key="ak-md", passphrase="pp-md") as simulator:
        yield simulator


def venue(sim: CryptoPbSimulator, signing_key: str | None = None) -> CoinbasePrimeConfig:
    creds = sim.credentials
    return CoinbasePrimeConfig(portfolio_id="p-md", access_key=SecretStr(creds.access_key),
                               passphrase=SecretStr(creds.passphrase),
                               signing_key=SecretStr(signing_key or creds.signing_key))


def config(sim: CryptoPbSimulator, max_age_s: str = "5") -> MarketDataConfig:
    return MarketDataConfig.model_validate({
        "sources": {
            "binance": {"kind": "binance_book_ticker", "url": sim.binance_url, "poll_s": 0.05,
                        "instruments": {BTC: "BTCUSDT"}},
            "cbp": {"kind": "coinbase_prime_l2", "url": sim.ws_url, "venue": "cbp",
                    "instruments": {BTC: "BTC-USD"}},
            "oracle": {"kind": "http_json", "url": sim.oracle_url, "poll_s": 0.05,
                       "instruments": {BTC: "prices.BTC.usd"}},
        },
        "defaults": {"max_age_s": max_age_s, "divergence_pct": "1"},
    })


def running(sim: CryptoPbSimulator, settings: MarketDataConfig,
            venues: dict[str, object] | None = None) -> tuple[ReferenceBook, MarketDataFeeds]:
    book = ReferenceBook(settings.policies({}))
    feeds = MarketDataFeeds(build_sources(settings, venues if venues is not None else {"cbp": venue(sim)}), book)
    feeds.start()
    return book, feeds


def mids(book: ReferenceBook) -> dict[str, Decimal]:
    return {v.quote.source: v.quote.mid for v in book.reference(BTC).sources if v.fresh}


def test_three_sources_quote_the_simulated_price_and_follow_a_jump(sim: CryptoPbSimulator) -> None:
    sim.set_prices({"BTC": "65000.00"})
    book, feeds = running(sim, config(sim))
    try:
        wait_until(lambda: len(mids(book)) == 3, what="three fresh sources")
        reference = book.reference(BTC)
        assert reference.state is ReferenceState.OK and reference.price == D("65000.00")
        by_source = {v.quote.source: v.quote for v in reference.sources}
        # bid/ask from the venues (10 bps spread around 65000), a single price from the oracle
        assert (by_source["binance"].bid, by_source["binance"].ask) == (D("64967.50"), D("65032.50"))
        assert (by_source["cbp"].bid, by_source["cbp"].ask) == (D("64967.50"), D("65032.50"))
        assert by_source["cbp"].venue_time is not None
        assert by_source["oracle"].last == D("65000.00")
        sim.market(jump={"BTC": "10"})
        wait_until(lambda: book.reference(BTC).price == D("71500.00"), what="the jump in every source")
        assert feeds.errors() == {"binance": 0, "cbp": 0, "oracle": 0}
    finally:
        feeds.stop()


def test_a_random_walk_moves_the_reference_and_a_freeze_holds_it(sim: CryptoPbSimulator) -> None:
    sim.set_prices({"BTC": "65000.00"})
    sim.market(vol_bps="20", step_s="0.05", seed=3)
    book, feeds = running(sim, config(sim))
    try:
        wait_until(lambda: (book.reference(BTC).price or D("65000.00")) != D("65000.00"), what="a move of the walk")
        sim.market(freeze=["BTC"])
        held = sim.market()["reference_prices"]["BTC"]
        wait_until(lambda: book.reference(BTC).price == D(held) and len(mids(book)) == 3, what="the frozen price")
    finally:
        feeds.stop()


def test_a_silent_source_goes_stale_and_a_bad_signature_never_quotes(sim: CryptoPbSimulator) -> None:
    sim.set_prices({"BTC": "65000.00"})
    settings = config(sim, max_age_s="0.5")
    with capture_logs() as logs:
        book, feeds = running(sim, settings, {"cbp": venue(sim, signing_key="wrong-key")})
        try:
            wait_until(lambda: len(mids(book)) == 2, what="binance and the oracle")
            wait_until(lambda: feeds.errors()["cbp"] >= 1, what="the refused subscribe")
            assert "cbp" not in mids(book)
            sim.market(silence=["BTC"])
            wait_until(lambda: book.reference(BTC).state is ReferenceState.STALE, what="stale after max_age_s")
            reference = book.reference(BTC)
            assert reference.price is None and "no source younger than 0.5s" in reference.why
            assert all(v.age > timedelta(seconds=0.5) for v in reference.sources)
            sim.market(resume=["BTC"])
            wait_until(lambda: book.reference(BTC).state is ReferenceState.OK, what="fresh again")
        finally:
            feeds.stop()
    failures = [e for e in logs if e["event"] == "marketdata.source_failed"]
    assert {e["source"] for e in failures} >= {"cbp", "binance", "oracle"}
    assert not any("wrong-key" in str(e) or "pp-md" in str(e) for e in logs)   # no secrets in the logs


def test_falconx_indicative_two_way_quotes_are_a_signed_source(sim: CryptoPbSimulator) -> None:
    sim.set_prices({"BTC": "65000.00"})
    creds = sim.credentials
    falconx = FalconXConfig(base_url=sim.falconx_url, api_key=SecretStr(creds.access_key),
                            passphrase=SecretStr(creds.passphrase), secret=SecretStr(creds.signing_key))
    settings = MarketDataConfig.model_validate({"sources": {"fx": {
        "kind": "falconx_quote", "venue": "fx", "quote_quantity": "0.5", "poll_s": 0.05,
        "instruments": {BTC: "BTC-USD"}}}})
    book = ReferenceBook(settings.policies({}))
    feeds = MarketDataFeeds(build_sources(settings, {"fx": falconx}), book)
    feeds.start()
    try:
        wait_until(lambda: book.reference(BTC).state is ReferenceState.OK, what="a quote")
        quote = book.reference(BTC).sources[0].quote
        assert quote.bid is not None and quote.ask is not None and quote.bid < D("65000") < quote.ask
        assert quote.mid == D("65000") and quote.venue_time is not None
        assert not [o for o in sim.orders("falconx")["orders"]]               # quotes only, nothing executed
        assert feeds.errors() == {"fx": 0}
    finally:
        feeds.stop()


@pytest.mark.parametrize("skew_s", [-20.0, 20.0])
def test_a_skewed_venue_clock_neither_freezes_nor_kills_the_reference(sim: CryptoPbSimulator, skew_s: float) -> None:
    """The simulator's clock is off by `skew_s` (its l2_data event_time shows it); freshness is our receive time."""
    sim.set_prices({"BTC": "65000.00"})
    sim.set_clock_offset(skew_s)
    book, feeds = running(sim, config(sim, max_age_s="5"))
    try:
        wait_until(lambda: "cbp" in mids(book) and book.reference(BTC).state is ReferenceState.OK, what="fresh quotes")
        quote = next(v.quote for v in book.reference(BTC).sources if v.quote.source == "cbp")
        assert quote.venue_time is not None
        assert abs((quote.venue_time - quote.received_at).total_seconds() - skew_s) < 5
        sim.market(jump={"BTC": "10"})
        wait_until(lambda: book.reference(BTC).price == D("71500.00") and len(mids(book)) == 3,
                 what="the jump despite the skew")
        sim.market(silence=["BTC"])
        wait_until(lambda: book.reference(BTC).state is ReferenceState.STALE, what="stale by our clock")
    finally:
        feeds.stop()
