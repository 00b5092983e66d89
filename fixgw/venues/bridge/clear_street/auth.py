"""Clear Street authentication: a bearer token from the OAuth 2.0 client credentials grant (Auth0 at
auth.clearstreet.io, `audience` https://api.clearstreet.io); the requests themselves are not signed.

The token is fetched, cached and replaced by `common/oauth.py:TokenProvider`; `VenueHttpClient` puts it on every
attempt and refreshes it once when the API answers 401.
"""

from __future__ import annotations

from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.http import SignedRequest, VenueRequest
from fixgw.venues.bridge.common.oauth import TokenProvider


def unsigned(request: VenueRequest, venue_now: float) -> SignedRequest:
    """No signature: the bearer token is the only credential on the request."""
    return SignedRequest({"Accept": "application/json"}, request.query, request.body)


def token_provider(config: ClearStreetConfig, deps: ClientDeps | None = None) -> TokenProvider:
    return TokenProvider(config.name, config, timeout_s=config.timeout_s,
                         transport=deps.transport if deps is not None else None)
