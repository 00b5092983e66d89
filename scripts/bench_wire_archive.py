#!/usr/bin/env python3
"""What the venue wire archive costs on a REST venue's event loop per request: masking a signed Coinbase-Prime
create (four auth headers, a JSON body) and its answer into a `WireExchange`, plus the JSON encoding the gateway
does before queueing the row for the router's commit (fixgw/engine/gateway.py `_wire`).

    .venv/bin/python scripts/bench_wire_archive.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

import httpx

from fixgw.venues.bridge.common.wire import (
    WireExchange,
    endpoint_of,
    kept_response_headers,
    mask_body,
    mask_headers,
    mask_query,
)

PATH = "/v1/portfolios/3f2a9c1e-0b7d-4a4e-9b1c-2f0e8d7c6b5a/order"
HEADERS = {"X-CB-ACCESS-KEY": "k" * 32, "X-CB-ACCESS-PASSPHRASE": "p" * 16, "X-CB-ACCESS-TIMESTAMP": "1700000000",
           "X-CB-ACCESS-SIGNATURE": "s" * 44, "Content-Type": "application/json"}
BODY = (b'{"portfolio_id": "3f2a9c1e-0b7d-4a4e-9b1c-2f0e8d7c6b5a", "product_id": "BTC-USD", "side": "BUY", '
        b'"client_order_id": "GW1-000123", "type": "LIMIT", "base_quantity": "0.25", "limit_price": "65000.00", '
        b'"time_in_force": "GOOD_UNTIL_CANCELLED"}')
ANSWER = httpx.Response(200, content=b'{"order_id": "8d7c6b5a-0b7d-4a4e-9b1c-2f0e3f2a9c1e"}',
                        headers={"date": "Mon, 07 Dec 2026 23:00:00 GMT", "content-type": "application/json",
                                 "x-request-id": "abc"})


def one_exchange() -> str:
    exchange = WireExchange(
        "cb", datetime.now(UTC), "POST", endpoint_of("POST", PATH), PATH, 200, 1234, "create_order", 1,
        {"headers": mask_headers(HEADERS), "query": mask_query(""), "body": mask_body(BODY)},
        {"headers": kept_response_headers(ANSWER.headers), "body": mask_body(ANSWER.content)})
    return json.dumps({"request": exchange.request, "response": exchange.response}, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    one_exchange()
    started = time.perf_counter()
    for _ in range(n):
        one_exchange()
    elapsed = time.perf_counter() - started
    print(f"{n} exchanges: {elapsed / n * 1e6:.1f} us each")


if __name__ == "__main__":
    main()
