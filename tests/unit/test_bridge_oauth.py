"""OAuth 2.0 client credentials (`venues/bridge/common/oauth.py`) against the simulator's token endpoint on
loopback: the cache, the expiry margin, one shared fetch, exactly one refresh on a 401, refused credentials, and
no client secret or access token in logs (structlog and stdlib at DEBUG, httpx and httpcore included),
exceptions or dumped config."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.clear_street.http import ClearStreetHttp
from fixgw.venues.bridge.clear_street.plugin import ClearStreetSection
from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueUnknown
from fixgw.venues.bridge.common.oauth import TokenProvider, TokenRefused
from fixgw.venues.bridge.common.settings import OAuthClientConfig

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


@pytest.fixture
def fresh(sim: CryptoPbSimulator) -> CryptoPbSimulator:
    sim.reset()
    sim.configure(clear_street_token_ttl_s=86400)
    return sim


def oauth(sim: CryptoPbSimulator, **overrides: Any) -> OAuthClientConfig:
    client = sim.settings.clear_street_client
    settings: dict[str, Any] = {"token_url": sim.clear_street_token_url, "client_id": client.client_id,
                                "client_secret": client.client_secret, "audience": client.audience,
                                "token_expiry_margin_s": 30}
    settings.update(overrides)
    return OAuthClientConfig.model_validate(settings)


def venue_config(sim: CryptoPbSimulator, **overrides: Any) -> ClearStreetConfig:
    client = sim.settings.clear_street_client
    settings: dict[str, Any] = {"base_url": sim.clear_street_url, "token_url": sim.clear_street_token_url,
                                "account_id": "100001", "client_id": client.client_id,
                                "client_secret": client.client_secret, "timeout_s": 2.0,
                                "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05, "documented_rate": 100,
                                "documented_burst": 100}
    settings.update(overrides)
    return ClearStreetConfig.model_validate(settings)


def grants(sim: CryptoPbSimulator) -> int:
    return sim.request_counts().get("clear_street.token", 0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_cached_until_expiry_minus_the_margin(fresh: CryptoPbSimulator) -> None:
    fresh.configure(clear_street_token_ttl_s=100)
    clock = FakeClock()
    tokens = TokenProvider("clear_street", oauth(fresh, token_expiry_margin_s=30), clock=clock)
    try:
        first = await tokens.token()
        clock.now += 69.9  # 100 s lifetime, 30 s margin: still good
        assert await tokens.token() == first and tokens.fetches == 1
        clock.now += 0.2
        second = await tokens.token()
        assert second != first and tokens.fetches == 2 and grants(fresh) == 2
    finally:
        await tokens.aclose()


async def test_a_short_lived_token_is_used_for_half_its_life(fresh: CryptoPbSimulator) -> None:
    fresh.configure(clear_street_token_ttl_s=40)  # shorter than twice the 30 s margin
    clock = FakeClock()
    tokens = TokenProvider("clear_street", oauth(fresh), clock=clock)
    try:
        first = await tokens.token()
        clock.now += 19.9
        assert await tokens.token() == first
        clock.now += 0.2
        assert await tokens.token() != first and tokens.fetches == 2
    finally:
        await tokens.aclose()


async def test_concurrent_callers_share_one_fetch(fresh: CryptoPbSimulator) -> None:
    tokens = TokenProvider("clear_street", oauth(fresh, token_body="json"))
    try:
        answers = await asyncio.gather(*(tokens.token() for _ in range(20)))
        assert len(set(answers)) == 1 and tokens.fetches == 1 and grants(fresh) == 1
    finally:
        await tokens.aclose()


async def test_a_401_refreshes_once_and_resends_once(fresh: CryptoPbSimulator) -> None:
    http = ClearStreetHttp(venue_config(fresh))
    try:
        await http.holdings()
        assert grants(fresh) == 1
        fresh.expire_clear_street_tokens()  # the venue ends the token before the client expected it to
        await asyncio.gather(*(http.holdings() for _ in range(5)))
        assert http.tokens.fetches == 2 and grants(fresh) == 2  # five 401s, one refresh
        assert fresh.request_counts()["clear_street.holdings"] == 1 + 5 + 5
    finally:
        await http.aclose()


async def test_a_second_401_is_not_refreshed_again(fresh: CryptoPbSimulator) -> None:
    fresh.configure(clear_street_token_ttl_s=0)  # every token is expired on arrival
    http = ClearStreetHttp(venue_config(fresh))
    try:
        with pytest.raises(VenueAuthError) as refused:
            await http.holdings()
        assert refused.value.http_status == 401
        assert http.tokens.fetches == 2 and fresh.request_counts()["clear_street.holdings"] == 2
    finally:
        await http.aclose()


async def test_refused_credentials_are_a_typed_refusal_without_the_secret(fresh: CryptoPbSimulator) -> None:
    http = ClearStreetHttp(venue_config(fresh, client_secret="wrong-secret-5b7e"))
    try:
        with pytest.raises(TokenRefused) as refused:
            await http.holdings()
        assert refused.value.http_status == 401 and refused.value.code == "access_denied"
        assert "wrong-secret-5b7e" not in f"{refused.value} {refused.value!r} {refused.value.message}"
        assert grants(fresh) == 1 and "clear_street.holdings" not in fresh.request_counts()  # no refresh loop
    finally:
        await http.aclose()


async def test_wrong_audience_is_refused(fresh: CryptoPbSimulator) -> None:
    tokens = TokenProvider("clear_street", oauth(fresh, audience="https://elsewhere.example"))
    try:
        with pytest.raises(TokenRefused, match="access_denied"):
            await tokens.token()
    finally:
        await tokens.aclose()


async def test_token_endpoint_failure_is_unknown_and_retried(fresh: CryptoPbSimulator) -> None:
    fresh.inject_fault("clear_street.token", "error_500", 1)
    http = ClearStreetHttp(venue_config(fresh))
    try:
        await http.holdings()  # the first grant fails with a 500, the retry gets a token
        assert http.tokens.fetches == 2 and fresh.request_counts()["clear_street.holdings"] == 1
        fresh.inject_fault("clear_street.token", "error_500", 10)
        fresh.expire_clear_street_tokens()
        with pytest.raises(VenueUnknown):
            await http.holdings()
    finally:
        fresh.clear_faults()
        await http.aclose()


@pytest.fixture
def debug_records() -> Iterator[list[logging.LogRecord]]:
    """Every stdlib record at DEBUG, httpx and httpcore included, unredacted."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_secret_and_token_never_reach_logs_errors_or_dumps(fresh: CryptoPbSimulator,
                                                                 debug_records: list[logging.LogRecord]) -> None:
    secret = fresh.settings.clear_street_client.client_secret
    http = ClearStreetHttp(venue_config(fresh, token_body="form"))
    with capture_logs() as events:
        try:
            await http.holdings()
            fresh.expire_clear_street_tokens()
            await http.holdings()  # a 401, a refresh, a resend
            with pytest.raises(VenueNotFound) as missing:
                await http.get_order("nope")
        finally:
            await http.aclose()
    errors = [str(missing.value), repr(missing.value)]
    issued = list(fresh.state.clear_street_tokens)
    assert len(issued) == 2
    stdlib = [f"{r.name} {r.getMessage()} {r.args!r}" for r in debug_records]
    assert any(line.startswith("httpcore") for line in stdlib) and any(line.startswith("httpx") for line in stdlib)
    assert any(e["event"] == "oauth_token_fetched" for e in events)
    assert any(e["event"] == "venue_bearer_refused" for e in events)
    section = ClearStreetSection.model_validate({"kind": "clear_street", "name": "cs", "account_id": "1",
                                                 "client_id": "id-1", "client_secret": SecretStr(secret)})
    seen = "\n".join([*stdlib, repr(events), *errors, repr(http.tokens), repr(http.config),
                      section.model_dump_json(), repr(section), str(section.model_dump())])
    for value in (secret, *issued):
        assert value not in seen
