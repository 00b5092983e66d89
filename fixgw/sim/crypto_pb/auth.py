"""Signature checks of the three venues, written from their documentation independently of the client code.

Each verifies over the RAW received bytes, never over a re-serialised body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from starlette.requests import Request


def venue_path(request: Request) -> str:
    """The path as the real venue would see it: without the simulator's mount prefix."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def coinbase_signature(signing_key: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = timestamp.encode() + method.upper().encode() + path.encode() + body
    return base64.b64encode(hmac.new(signing_key.encode(), message, hashlib.sha256).digest()).decode()


def falconx_signature(secret_b64: str, timestamp: str, method: str, path_with_query: str, body: bytes) -> str:
    key = base64.b64decode(secret_b64, validate=True)
    message = timestamp.encode() + method.upper().encode() + path_with_query.encode() + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def binance_signature(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


_SIGNATURE_PARAM = re.compile(rb"(?:^|&)signature=([0-9a-fA-F]*)")


def split_binance_signature(query: bytes, body: bytes) -> tuple[bytes, str | None]:
    """(signed payload, signature): query string then body, with the `signature` parameter removed."""
    signature: str | None = None
    parts: list[bytes] = []
    for part in (query, body):
        match = _SIGNATURE_PARAM.search(part)
        if match:
            signature = match.group(1).decode()
            part = part[: match.start()] + part[match.end() :]
            part = part.lstrip(b"&") if match.start() == 0 else part
        parts.append(part)
    return b"".join(parts), signature


def falconx_key_valid(secret_b64: str) -> bool:
    try:
        base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def coinbase_signature_ws(
    signing_key: str,
    *,
    channel: str,
    access_key: str,
    api_key_id: str,
    timestamp: str,
    portfolio_id: str,
    product_ids: list[str],
) -> str:
    """WebSocket subscribe signature: channel + access key + key id + timestamp + portfolio + products."""
    message = channel + access_key + api_key_id + timestamp + portfolio_id + "".join(product_ids)
    return base64.b64encode(hmac.new(signing_key.encode(), message.encode(), hashlib.sha256).digest()).decode()
