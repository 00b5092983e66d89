"""OAuth 2.0 client credentials (RFC 6749 section 4.4) for REST venues: one cached bearer token per venue client.

- the token is cached until `expires_in` minus `token_expiry_margin_s`, then fetched again before use;
- callers arriving while a fetch runs wait for that one fetch (one lock; the check is repeated under it);
- a 401 from the venue marks the token it carried stale (`invalidate`), and `VenueHttpClient` sends the request
  once more with a fresh token: exactly one refresh and one resend per request;
- the client secret and the access token never reach a log line, an exception or a repr.

Library choice: plain httpx (the bridge's HTTP stack) rather than authlib's `AsyncOAuth2Client`. The grant itself
is one POST; what this module is for - the expiry margin, one shared fetch for concurrent callers, exactly one
refresh on a 401 - authlib does not do (it re-fetches on expiry only), and its client would bypass the venue
client's rate limiting, retries and outcome classification. authlib is not a dependency of fixgw either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from fixgw.logs import get_logger
from fixgw.venues.bridge.common.errors import VenueAuthError, VenueProtocolError, VenueUnknown
from fixgw.venues.bridge.common.jsonwire import dumps, loads
from fixgw.venues.bridge.common.settings import OAuthClientConfig

log = get_logger("fixgw.bridge.oauth")


class TokenRefused(VenueAuthError):
    """The token endpoint refused our client credentials: no resend helps until the configuration changes."""


@dataclass
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # monotonic seconds


class TokenProvider:
    """Fetches, caches and replaces the venue's bearer token; `fetches` counts the grants requested."""

    def __init__(
        self,
        venue: str,
        config: OAuthClientConfig,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.config = config
        self.fetches = 0
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), transport=transport)
        self._token: _Token | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"TokenProvider(venue={self.venue!r}, token_url={self.config.token_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _fresh(self) -> str | None:
        token = self._token
        return token.value if token is not None and self._clock() < token.refresh_at else None

    def _guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:  # a lock belongs to one event loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def token(self) -> str:
        """A token valid for at least the margin: the cached one, or one fetch shared by every caller waiting."""
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._guard():
            fresh = self._fresh()  # fetched by the caller we waited for
            if fresh is not None:
                return fresh
            self._token = await self._fetch()
            return self._token.value

    def invalidate(self, token: str) -> None:
        """The venue refused `token` (401): the next `token()` fetches a new one, unless it was replaced already."""
        if self._token is not None and self._token.value == token:
            self._token = None

    async def _fetch(self) -> _Token:
        config = self.config
        grant: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": config.client_id.get_secret_value(),
            "client_secret": config.client_secret.get_secret_value(),
        }
        if config.audience:
            grant["audience"] = config.audience
        if config.scope:
            grant["scope"] = config.scope
        self.fetches += 1
        asked_at = self._clock()
        try:
            if config.token_body == "json":
                response = await self._client.post(config.token_url, content=dumps(grant).encode(),
                                                   headers={"Content-Type": "application/json",
                                                            "Accept": "application/json"})
            else:
                response = await self._client.post(config.token_url, data=grant, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            # Only the exception's type: its text could carry the request.
            raise VenueUnknown(self.venue, f"token endpoint unreachable: {type(exc).__name__}") from None
        return self._read(response, asked_at)

    def _read(self, response: httpx.Response, asked_at: float) -> _Token:
        status = response.status_code
        try:
            payload: Any = loads(response.content) if response.content else None
        except ValueError:
            payload = None
        if status >= 500 or status in (408, 429):
            log.warning("oauth_token_unavailable", venue=self.venue, status=status)
            raise VenueUnknown(self.venue, f"token endpoint answered HTTP {status}", http_status=status)
        if status != 200:
            code = _text(payload, "error") or f"HTTP {status}"
            description = _text(payload, "error_description")
            log.error("oauth_token_refused", venue=self.venue, status=status, error=code, description=description)
            reason = f"token endpoint refused the client credentials: {code}" + (f" ({description})" if description
                                                                                 else "")
            raise TokenRefused(self.venue, reason, http_status=status, code=code)
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise VenueProtocolError(self.venue, "token endpoint answered 200 without an access_token")
        token_type = str(payload.get("token_type") or "Bearer")
        if token_type.lower() != "bearer":
            raise VenueProtocolError(self.venue, f"token endpoint issued a {token_type!r} token, not a bearer token")
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | Decimal | str):
            raise VenueProtocolError(self.venue, "token endpoint answered without a numeric expires_in")
        try:
            lifetime = float(Decimal(expires_in))
        except ArithmeticError:
            raise VenueProtocolError(self.venue, "token endpoint answered an unreadable expires_in") from None
        margin = min(self.config.token_expiry_margin_s, lifetime / 2)  # a short-lived token is still used
        log.info("oauth_token_fetched", venue=self.venue, expires_in_s=lifetime, fetches=self.fetches)
        return _Token(payload["access_token"], asked_at + lifetime - margin)


def _text(payload: Any, key: str) -> str:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value[:200] if isinstance(value, str) else ""
