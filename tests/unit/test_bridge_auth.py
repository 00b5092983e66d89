"""Signing vectors: Binance's published vector, the Coinbase Prime vector, FalconX computed independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from pydantic import SecretStr

from fixgw.venues.bridge.binance import auth as binance_auth
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.coinbase_prime import auth as coinbase_auth
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.common.http import VenueRequest
from fixgw.venues.bridge.falconx import auth as falconx_auth

BINANCE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BINANCE_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)


def test_binance_published_vector() -> None:
    assert binance_auth.sign(BINANCE_SECRET, BINANCE_PAYLOAD) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_binance_signer_reproduces_the_vector_in_a_form_body() -> None:
    config = BinanceConfig(api_key=SecretStr("k"), secret_key=SecretStr(BINANCE_SECRET), recv_window_ms=5000)
    signer = binance_auth.make_signer(config)
    body = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    signed = signer(VenueRequest("POST", "/api/v3/order", "new_order", body=body), 1499827319.559)
    assert (
        signed.body.decode()
        == BINANCE_PAYLOAD + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    assert signed.headers == {"X-MBX-APIKEY": "k"}


def test_binance_signer_signs_query_for_reads() -> None:
    config = BinanceConfig(api_key=SecretStr("k"), secret_key=SecretStr(BINANCE_SECRET))
    signed = binance_auth.make_signer(config)(VenueRequest("GET", "/api/v3/order", "q", query="symbol=BTCUSDT"), 1.0)
    params = urllib.parse.parse_qs(signed.query)
    unsigned = signed.query.rsplit("&signature=", 1)[0]
    assert params["signature"] == [binance_auth.sign(BINANCE_SECRET, unsigned)]
    assert params["timestamp"] == ["1000"]


def test_coinbase_prime_vector() -> None:
    signature = coinbase_auth.sign("test-signing-key", "1700000000", "GET", "/v1/portfolios/p-123/orders/o-1", b"")
    assert signature == "HyQvJtYfj3JCj58/RHsC5rxuCttxUHYDMUGbBMggNVM="


def test_coinbase_signer_covers_the_exact_body_and_whole_seconds() -> None:
    config = CoinbasePrimeConfig(
        portfolio_id="p-123", access_key=SecretStr("ak"), passphrase=SecretStr("pp"), signing_key=SecretStr("sk")
    )
    body = b'{"product_id": "BTC-USD"}'
    signed = coinbase_auth.make_signer(config)(
        VenueRequest("POST", "/v1/portfolios/p-123/order", "c", body=body), 1700000000.9
    )
    assert signed.headers["X-CB-ACCESS-TIMESTAMP"] == "1700000000"
    assert signed.headers["X-CB-ACCESS-SIGNATURE"] == coinbase_auth.sign(
        "sk", "1700000000", "POST", "/v1/portfolios/p-123/order", body
    )
    assert signed.body == body


def test_falconx_matches_an_independent_computation() -> None:
    secret = base64.b64encode(b"falconx-secret-bytes").decode()
    timestamp, path, body = "1700000000.5", "/v1/quotes?x=1", b'{"side": "two_way"}'
    expected = base64.b64encode(
        hmac.new(b"falconx-secret-bytes", f"{timestamp}POST{path}".encode() + body, hashlib.sha256).digest()
    ).decode()
    assert falconx_auth.sign(secret, timestamp, "post", path, body) == expected


def test_secrets_are_not_in_config_reprs() -> None:
    config = CoinbasePrimeConfig(
        portfolio_id="p",
        access_key=SecretStr("AK-123"),
        passphrase=SecretStr("PP-456"),
        signing_key=SecretStr("SK-789"),
    )
    text = repr(config) + str(config.model_dump())
    assert "PP-456" not in text and "SK-789" not in text and "AK-123" not in text
