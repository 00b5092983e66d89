"""Binance signing: hex HMAC-SHA256 (raw secret) over query string + body; `timestamp`/`recvWindow` added here."""

from __future__ import annotations

import hashlib
import hmac

from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.common.http import SignedRequest, Signer, VenueRequest


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def make_signer(config: BinanceConfig) -> Signer:
    api_key = config.api_key.get_secret_value()
    secret = config.secret_key.get_secret_value()

    def signer(request: VenueRequest, venue_now: float) -> SignedRequest:
        stamp = f"recvWindow={config.recv_window_ms}&timestamp={int(venue_now * 1000)}"
        headers = {"X-MBX-APIKEY": api_key}
        if request.body or request.method == "POST":
            # Parameters travel in the form body; the signature covers query + body and ends the body.
            body = f"{request.body.decode()}&{stamp}" if request.body else stamp
            signature = sign(secret, request.query + body)
            return SignedRequest(headers, request.query, f"{body}&signature={signature}".encode())
        query = f"{request.query}&{stamp}" if request.query else stamp
        return SignedRequest(headers, f"{query}&signature={sign(secret, query)}", b"")

    return signer
