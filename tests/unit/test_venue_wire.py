"""The venue wire archive's masking and endpoint templates, the Deprecation / Sunset / Warning notices, the daily
alert rule, and the archive's venue_wire rows (read, filtered, purged) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr
from test_bridge_common_http import Sleeps, make_client, scripted

from fixgw.config import AlertsConfig
from fixgw.ops.alert_rules import FIRING, RESOLVED, AlertEngine, Observation
from fixgw.store import Journal, JournalBatch
from fixgw.store.archive import Archive, ArchiveQuery
from fixgw.store.records import VenueWireRecord
from fixgw.venues.bridge.binance import auth as binance_auth
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.coinbase_prime import auth as coinbase_auth
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.common.deprecation import DeprecationBook, parse_deprecation, parse_http_date
from fixgw.venues.bridge.common.http import Signer, VenueRequest
from fixgw.venues.bridge.common.wire import WireExchange, endpoint_of, mask_body, mask_headers, mask_query
from fixgw.venues.bridge.falconx import auth as falconx_auth
from fixgw.venues.bridge.falconx.config import FalconXConfig

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("method", "path", "endpoint"), [
    ("GET", "/v1/portfolios/3f2a9c1e-0b7d-4a4e-9b1c-2f0e8d7c6b5a/orders/ord-42", "GET /v1/portfolios/{id}/orders/{id}"),
    ("post", "/v1/portfolios/pf-1a2b/order", "POST /v1/portfolios/{id}/order"),
    ("GET", "/api/v3/order", "GET /api/v3/order"),
    ("GET", "/v1/quotes/7f0c51d9e1a24c62", "GET /v1/quotes/{id}"),
    ("GET", "/v1/open_orders", "GET /v1/open_orders"),
])
def test_endpoints_are_method_and_path_template_never_raw_ids(method: str, path: str, endpoint: str) -> None:
    assert endpoint_of(method, path) == endpoint


def test_keys_signatures_passphrases_and_tokens_are_masked() -> None:
    headers = {"X-CB-ACCESS-KEY": "AK", "X-CB-ACCESS-SIGNATURE": "SIG", "X-CB-ACCESS-PASSPHRASE": "PP",
               "X-CB-ACCESS-TIMESTAMP": "1700000000", "FX-ACCESS-SIGN": "SIG2", "X-MBX-APIKEY": "AK2",
               "Authorization": "Bearer T", "Content-Type": "application/json"}
    assert mask_headers(headers) == {name: "***" for name in headers} | {
        "X-CB-ACCESS-TIMESTAMP": "1700000000", "Content-Type": "application/json"}
    assert mask_query("symbol=BTCUSDT&timestamp=1&signature=abc123") == "symbol=BTCUSDT&timestamp=1&signature=***"
    body = mask_body(b'{"client_order_id": "c1", "quantity": 0.10, "auth": {"api_key": "AK", "token": "T"}}')
    assert json.loads(body) == {"client_order_id": "c1", "quantity": 0.1, "auth": {"api_key": "***", "token": "***"}}
    assert '"quantity": 0.1,' in body   # a number still, exact
    assert mask_body(b'{"quantity": 0.10}') == '{"quantity": 0.10}'   # nothing to mask: as sent
    form = mask_body(b"grant_type=client_credentials&client_secret=S3")
    assert form == "grant_type=client_credentials&client_secret=***"
    assert mask_body(b"") == "" and mask_body(b"not json") == "not json"


def signers() -> list[tuple[str, Signer, list[str]]]:
    """Each venue's real signer with known credentials, and the secrets it puts on the wire."""
    coinbase = CoinbasePrimeConfig(portfolio_id="p-1", access_key=SecretStr("cb-AK-7q"),
                                   passphrase=SecretStr("cb-PP-8r"), signing_key=SecretStr("cb-SK-9s"))
    falconx = FalconXConfig(api_key=SecretStr("fx-AK-1a"), passphrase=SecretStr("fx-PP-2b"),
                            secret=SecretStr(base64.b64encode(b"fx-SECRET-3c").decode()))
    binance = BinanceConfig(api_key=SecretStr("bn-AK-4d"), secret_key=SecretStr("bn-SK-5e"))
    return [("coinbase_prime", coinbase_auth.make_signer(coinbase), ["cb-AK-7q", "cb-PP-8r", "cb-SK-9s"]),
            ("falconx", falconx_auth.make_signer(falconx), ["fx-AK-1a", "fx-PP-2b", falconx.secret.get_secret_value()]),
            ("binance", binance_auth.make_signer(binance), ["bn-AK-4d", "bn-SK-5e"])]


@pytest.mark.parametrize(("kind", "signer", "secrets"), signers(), ids=lambda value: value if isinstance(value, str)
                         else "")
async def test_each_venues_keys_and_signatures_stay_out_of_the_archive(kind: str, signer: Signer,
                                                                        secrets: list[str]) -> None:
    sent: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b'{"ok": true}')

    client = make_client(venue, Sleeps())
    client.signer = signer
    archived: list[WireExchange] = []
    client.on_wire = archived.append
    await client.send(VenueRequest("POST", "/v1/order", "create_order", body=b"symbol=BTCUSDT&quantity=1"
                                   if kind == "binance" else b'{"client_order_id": "c1"}', idempotent=False))
    await client.send(VenueRequest("GET", "/v1/order", "get_order", query="symbol=BTCUSDT"))
    await client.aclose()
    on_the_wire = " ".join(f"{r.headers} {r.url} {r.content!r}" for r in sent)
    signatures = [value for r in sent for name, value in r.headers.items() if "sign" in name.lower()]
    signatures += [value for r in sent for part in (r.url.query.decode(), r.content.decode()) for name, value in
                   parse_qsl(part) if name == "signature"]
    assert signatures and all(secret in on_the_wire for secret in secrets[:1])  # the key really went out
    archive = json.dumps([[e.request, e.response] for e in archived])
    for secret in [*secrets, *signatures]:
        assert secret not in archive


def test_deprecation_and_sunset_headers_parse_as_their_rfcs_say() -> None:
    assert parse_deprecation("@1688169599") == (True, datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC))  # RFC 9745
    assert parse_deprecation("true") == (True, None)                                            # earlier drafts
    assert parse_deprecation("?1") == (True, None)
    assert parse_deprecation("Sun, 11 Nov 2018 23:59:59 GMT") == (True, datetime(2018, 11, 11, 23, 59, 59,
                                                                                   tzinfo=UTC))
    assert parse_deprecation("soon-ish") == (True, None)
    assert parse_http_date("Sat, 31 Dec 2033 23:59:59 GMT") == datetime(2033, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_http_date("next year") is None


def test_the_book_keeps_one_notice_per_endpoint_and_ignores_answers_without_one() -> None:
    book = DeprecationBook("fx")
    assert book.observe("GET /v1/balances", {"content-type": "application/json"}, AT) is None
    book.observe("POST /v1/order", {"deprecation": "@1688169599", "sunset": "Sat, 31 Dec 2033 23:59:59 GMT"}, AT)
    later = AT + timedelta(minutes=1)
    book.observe("POST /v1/order", {"deprecation": "@1688169599", "sunset": "Sat, 31 Dec 2033 23:59:59 GMT",
                                    "warning": '299 - "going away"'}, later)
    book.observe("GET /v1/quotes/{id}", {"warning": '299 - "use v3"'}, AT)
    quotes, order = book.snapshot()
    assert (order.endpoint, order.deprecated, order.last_seen, order.warnings) == (
        "POST /v1/order", True, later, ('299 - "going away"',))
    assert order.sunset_at == datetime(2033, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert (quotes.deprecated, quotes.deprecated_at, quotes.sunset_at) == (False, None, None)


async def test_every_attempt_reaches_the_wire_sink_masked_with_notices_recorded() -> None:
    handler, _ = scripted(
        httpx.Response(503, content=b'{"message": "busy"}'),
        httpx.Response(200, content=b'{"order_id": "o1"}', headers={"Deprecation": "@1688169599",
                                                                    "X-Internal": "dropped"}))
    client = make_client(handler, Sleeps())
    archived: list[WireExchange] = []
    client.on_wire = archived.append
    assert await client.send(VenueRequest("GET", "/v1/orders/o1", "get_order")) == {"order_id": "o1"}
    await client.aclose()
    assert [(e.status, e.attempt, e.endpoint) for e in archived] == [
        (503, 1, "GET /v1/orders/{id}"), (200, 2, "GET /v1/orders/{id}")]
    assert archived[0].request["headers"] == {"X-Sig": "***"}
    assert archived[1].response == {"headers": {"deprecation": "@1688169599"}, "body": '{"order_id": "o1"}'}
    (notice,) = client.deprecations.snapshot()
    assert notice.endpoint == "GET /v1/orders/{id}" and notice.deprecated


async def test_a_timed_out_submit_is_archived_without_a_status() -> None:
    handler, _ = scripted(httpx.ReadTimeout("slow"))
    client = make_client(handler, Sleeps())
    archived: list[WireExchange] = []
    client.on_wire = archived.append
    with pytest.raises(Exception, match="ReadTimeout"):
        await client.send(VenueRequest("POST", "/v1/order", "create_order", body=b'{"a": 1}', idempotent=False))
    await client.aclose()
    (exchange,) = archived
    assert exchange.status is None and exchange.response == {"error": "ReadTimeout"}
    assert exchange.request["body"] == '{"a": 1}'


async def test_a_request_cancelled_by_the_venue_stop_is_archived_too() -> None:
    reached = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        reached.set()
        await asyncio.sleep(60)
        raise AssertionError("not cancelled")

    client = make_client(hang, Sleeps())
    archived: list[WireExchange] = []
    client.on_wire = archived.append
    sending = asyncio.create_task(client.send(VenueRequest("GET", "/v1/orders/o1", "get_order")))
    await reached.wait()
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    await client.aclose()
    assert [(e.status, e.response) for e in archived] == [(None, {"error": "CancelledError"})]


def test_a_deprecated_endpoint_alerts_once_per_day() -> None:
    from fixgw.venues.plugin import EndpointNotice

    notice = EndpointNotice("POST /v1/order", True, None, datetime(2033, 12, 31, tzinfo=UTC), (), AT)
    engine = AlertEngine(AlertsConfig(), started_at=AT.timestamp())

    def at(moment: datetime) -> list[tuple[str, str]]:
        return [(alert.key, alert.status) for alert in engine.evaluate(
            Observation(now=moment.timestamp(), sessions={}, endpoint_notices=(("fx", notice),)))]

    today = "venue_endpoint_deprecated:fx POST /v1/order 2026-12-07"
    tomorrow = "venue_endpoint_deprecated:fx POST /v1/order 2026-12-08"
    assert at(AT) == [(today, FIRING)]
    assert at(AT + timedelta(hours=3)) == []
    assert at(AT + timedelta(hours=11, minutes=59)) == []
    assert sorted(at(AT + timedelta(hours=12, minutes=1))) == [(today, RESOLVED), (tomorrow, FIRING)]
    assert engine.firing[tomorrow].summary == "fx POST /v1/order: deprecated; sunset 2033-12-31T00:00:00+00:00"


def wire_row(venue: str, at: datetime, **values: Any) -> VenueWireRecord:
    return VenueWireRecord(venue, at, "GET", "GET /v1/balances", "/v1/balances", values.get("status", 200), 1500,
                           "balances", 1, json.dumps({"request": {"headers": {}}, "response": {"body": "{}"}}))


def test_wire_rows_are_read_by_venue_and_time_and_purged_with_their_day(journal: Journal) -> None:
    day_before = AT - timedelta(days=1)
    journal.write(JournalBatch(venue_wire=[wire_row("fx", day_before), wire_row("fx", AT),
                                           wire_row("cb", AT, status=None)]))
    archive = Archive(journal)
    query = ArchiveQuery(since=AT - timedelta(hours=1), until=AT + timedelta(hours=1), venues=("fx",))
    (row,) = archive.wire_exchanges(query)
    assert (row.venue, row.at, row.status, row.latency_us, row.exchange["response"]) == (
        "fx", AT, 200, 1500, {"body": "{}"})
    assert archive.count_wire_exchanges(ArchiveQuery()) == 3
    assert [r.status for r in archive.wire_exchanges(ArchiveQuery(venues=("cb",)))] == [None]
    archive.purge_day(day_before.date())
    assert [r.at for r in archive.wire_exchanges(ArchiveQuery(venues=("fx",)))] == [AT]
