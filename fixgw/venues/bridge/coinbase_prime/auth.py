"""Coinbase Prime request signing: base64(HMAC-SHA256(signing key as raw UTF-8, ts + METHOD + path + body))."""

from __future__ import annotations

import base64
import hashlib
import hmac

from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.common.http import SignedRequest, Signer, VenueRequest


def sign(signing_key: str, timestamp: str, method: str, path: str, body: bytes = b"") -> str:
    """`path` includes /v1 and excludes the query string; `body` is exactly the bytes sent."""
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return base64.b64encode(hmac.new(signing_key.encode(), message, hashlib.sha256).digest()).decode()


def sign_ws_subscribe(
    signing_key: str,
    *,
    channel: str,
    access_key: str,
    api_key_id: str,
    timestamp: str,
    portfolio_id: str,
    product_ids: list[str],
) -> str:
    message = channel + access_key + api_key_id + timestamp + portfolio_id + "".join(product_ids)
    return base64.b64encode(hmac.new(signing_key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def make_signer(config: CoinbasePrimeConfig) -> Signer:
    access_key = config.access_key.get_secret_value()
    passphrase = config.passphrase.get_secret_value()
    signing_key = config.signing_key.get_secret_value()

    def signer(request: VenueRequest, venue_now: float) -> SignedRequest:
        timestamp = str(int(venue_now))
        headers = {
            "X-CB-ACCESS-KEY": access_key,
            "X-CB-ACCESS-PASSPHRASE": passphrase,
            "X-CB-ACCESS-TIMESTAMP": timestamp,
            "X-CB-ACCESS-SIGNATURE": sign(signing_key, timestamp, request.method, request.path, request.body),
        }
        return SignedRequest(headers, request.query, request.body)

    return signer
