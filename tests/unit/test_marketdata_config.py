"""check-config on [marketdata]: schema errors name their key; cross-checks; instruments exist; policies."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from fixgw.config import ConfigError, parse_config
from fixgw.marketdata.configcheck import check_marketdata, summary_lines

BINANCE = {"kind": "binance_book_ticker", "instruments": {"BTC/USD": "BTCUSDT"}}


def test_sources_make_the_policies_of_their_instruments() -> None:
    config = parse_config({
        "risk": {"instruments": {"AAPL": {"reference_price": "190"}, "BTC/USD": {"reference_price": "60000"}}},
        "marketdata": {"sources": {"binance": BINANCE,
                                   "oracle": {"kind": "http_json", "url": "http://127.0.0.1:1/p", "poll_s": 2,
                                              "instruments": {"BTC/USD": "data.0.price"}}},
                       "defaults": {"max_age_s": "4"},
                       "instruments": {"BTC/USD": {"divergence_pct": "0.5", "on_no_reference": "static"}}}})
    policies = config.marketdata.policies({"AAPL": Decimal(190), "BTC/USD": Decimal(60000)})
    btc, aapl = policies["BTC/USD"], policies["AAPL"]
    assert (btc.live_sources, btc.divergence_pct, btc.on_no_reference, btc.static_price, btc.max_age) == (
        ("binance", "oracle"), Decimal("0.5"), "static", Decimal(60000), timedelta(seconds=10))
    assert (aapl.live_sources, aapl.max_age, aapl.static_price) == ((), timedelta(seconds=4), Decimal(190))
    assert check_marketdata(config) == []
    assert summary_lines(config)[1:] == ["  source binance: binance_book_ticker for BTC/USD",
                                         "  source oracle: http_json for BTC/USD"]


@pytest.mark.parametrize(("marketdata", "key"), [
    ({"sources": {"o": {"kind": "http_json", "instruments": {"BTC/USD": "p"}}}}, "marketdata.sources.o"),
    ({"sources": {"o": {"kind": "carrier_pigeon", "instruments": {"BTC/USD": "p"}}}}, "marketdata.sources.o.kind"),
    ({"sources": {"o": {**BINANCE, "poll_s": 0}}}, "marketdata.sources.o.poll_s"),
    ({"sources": {"o": {"kind": "binance_book_ticker", "instruments": {}}}}, "marketdata.sources.o.instruments"),
    ({"sources": {"o": {**BINANCE, "typo": 1}}}, "marketdata.sources.o.typo"),
    ({"defaults": {"max_age_s": "0"}}, "marketdata.defaults.max_age_s"),
    ({"defaults": {"on_no_reference": "guess"}}, "marketdata.defaults.on_no_reference"),
    ({"journal_period_s": -1}, "marketdata.journal_period_s"),
    ({"sources": {"o": {"kind": "falconx_quote", "venue": "fx", "instruments": {"BTC/USD": "BTC-USD"}}}},
     "marketdata.sources.o"),                          # no quote_quantity
    ({"sources": {"o": {"kind": "fix_broker", "instruments": {"AAPL": "AAPL"}}}}, "marketdata.sources.o"),
])
def test_schema_errors_name_their_key(marketdata: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"marketdata": marketdata})
    assert [problem[0] for problem in error.value.problems] == [key]


def test_a_coinbase_l2_source_needs_a_coinbase_prime_venue() -> None:
    source = {"kind": "coinbase_prime_l2", "venue": "nope", "instruments": {"BTC/USD": "BTC-USD"}}
    with pytest.raises(ConfigError) as error:
        parse_config({"marketdata": {"sources": {"l2": source}}})
    assert "marketdata.sources.l2.venue: 'nope' is not a Coinbase Prime venue under venues" in str(error.value)


def test_a_falconx_quote_source_needs_a_falconx_venue() -> None:
    source = {"kind": "falconx_quote", "venue": "fx", "quote_quantity": "0.1", "instruments": {"BTC/USD": "BTC-USD"}}
    with pytest.raises(ConfigError) as error:
        parse_config({"marketdata": {"sources": {"q": source}}})
    assert "marketdata.sources.q.venue: 'fx' is not a FalconX venue under venues" in str(error.value)


def test_unknown_instruments_are_named() -> None:
    config = parse_config({"marketdata": {"sources": {"b": {**BINANCE, "instruments": {"DOGE/XYZ": "X"}}},
                                          "instruments": {"NOPE": {}}}})
    assert check_marketdata(config) == [
        ("marketdata.sources.b.instruments.DOGE/XYZ", f"no such instrument in {config.symbols_path}"),
        ("marketdata.instruments.NOPE", f"no such instrument in {config.symbols_path}")]


def test_a_fix_broker_source_needs_a_broker_whose_dialect_publishes_market_data() -> None:
    source = {"kind": "fix_broker", "venue": "equities", "instruments": {"AAPL": "AAPL"}}
    with pytest.raises(ConfigError) as error:
        parse_config({"marketdata": {"sources": {"md": source}}})
    assert "marketdata.sources.md.venue: 'equities' is not a broker session under brokers" in str(error.value)
    broker = {"target_comp_id": "BROKER", "port": 9000, "begin_string": "FIX.4.2"}
    plain = parse_config({"brokers": {"equities": {**broker, "dialect": "fix42-broker"}},
                          "marketdata": {"sources": {"md": source}}})
    assert check_marketdata(plain) == [("marketdata.sources.md.venue", "the dialect 'fix42-broker' of "
                                        "brokers.equities does not publish market data (market_data = true)")]
    publishing = parse_config({"brokers": {"equities": {**broker, "dialect": "fix42-broker-md"}},
                               "marketdata": {"sources": {"md": source}}})
    assert check_marketdata(publishing) == []
