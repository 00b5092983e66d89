"""FalconX signing: base64(HMAC-SHA256(base64-decoded secret, timestamp + METHOD + path?query + body))."""

from __future__ import annotations

import base64
import hashlib
import hmac

from fixgw.venues.bridge.common.http import SignedRequest, Signer, VenueRequest
from fixgw.venues.bridge.falconx.config import FalconXConfig


def sign(secret_b64: str, timestamp: str, method: str, path_with_query: str, body: bytes = b"") -> str:
    key = base64.b64decode(secret_b64)
    message = timestamp.encode() + method.upper().encode() + path_with_query.encode() + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def make_signer(config: FalconXConfig) -> Signer:
    api_key = config.api_key.get_secret_value()
    passphrase = config.passphrase.get_secret_value()
    secret = config.secret.get_secret_value()
    base64.b64decode(secret, validate=True)  # fail at start-up, not on the first order

    def signer(request: VenueRequest, venue_now: float) -> SignedRequest:
        timestamp = f"{venue_now:.3f}"  # fractional seconds, as the official Python client sends
        path = request.path + (f"?{request.query}" if request.query else "")
        headers = {
            "FX-ACCESS-KEY": api_key,
            "FX-ACCESS-PASSPHRASE": passphrase,
            "FX-ACCESS-TIMESTAMP": timestamp,
            "FX-ACCESS-SIGN": sign(secret, timestamp, request.method, path, request.body),
        }
        return SignedRequest(headers, request.query, request.body)

    return signer
