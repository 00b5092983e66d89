"""The venue wire archive's record: one REST request and its response (or failure), secrets masked, for the journal.

Masked before the record leaves the venue's loop: request headers whose name says key, sig, pass, secret, token,
auth, cookie or session; JSON body members and query/form parameters whose name looks secret (the names `fixgw.logs`
redacts); response headers are kept only when chosen (`KEPT_RESPONSE_HEADERS`: dates, limits, deprecation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fixgw.logs import MASK, SENSITIVE_KEYS, redact_url, redact_value
from fixgw.venues.bridge.common.jsonwire import JsonNumber, dumps

_SECRET_HEADER = re.compile(r"(?i)key|sig|pass|secret|token|auth|cookie|session")
_ID_SEGMENT = re.compile(r"(?i)^(?:v\d+|[a-z][a-z_-]*)$")
KEPT_RESPONSE_HEADERS = ("content-type", "date", "retry-after", "deprecation", "sunset", "warning", "link",
                         "x-request-id", "request-id", "cb-request-id")
KEPT_RESPONSE_PREFIXES = ("x-ratelimit", "ratelimit", "x-mbx-used-weight", "x-mbx-order-count")
MAX_BODY_CHARS = 65_536
"""A longer body is archived cut there (a listing of thousands of orders); the record says how long it was."""


@dataclass(frozen=True, slots=True)
class WireExchange:
    """One attempt at one venue request: what went out and what came back, masked."""

    venue: str
    at: datetime
    """When the request was sent (UTC)."""
    method: str
    endpoint: str
    """Method and path template, e.g. "GET /v1/portfolios/{id}/orders/{id}": the same for every order."""
    path: str
    status: int | None
    """HTTP status; None when no answer came (timeout, dropped connection)."""
    latency_us: int
    route: str
    attempt: int
    request: dict[str, Any]
    """{"headers": {...}, "query": str, "body": str}, masked."""
    response: dict[str, Any]
    """{"headers": {chosen}, "body": str} or {"error": str}."""


WireSink = Callable[[WireExchange], None]
"""Where a venue's exchanges go (the gateway: the router's journal batches); called on the venue's loop."""


def path_template(path: str) -> str:
    """The path with every id-like segment (digits, UUIDs, anything but a plain word) as `{id}`."""
    return "/".join(segment if not segment or _ID_SEGMENT.match(segment) else "{id}" for segment in path.split("/"))


def endpoint_of(method: str, path: str) -> str:
    return f"{method.upper()} {path_template(path)}"


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: MASK if _SECRET_HEADER.search(name) else value for name, value in headers.items()}


def kept_response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()
            if name.lower() in KEPT_RESPONSE_HEADERS or name.lower().startswith(KEPT_RESPONSE_PREFIXES)}


def mask_query(query: str) -> str:
    return redact_url("?" + query)[1:] if query else ""


def mask_body(body: bytes | str) -> str:
    """A JSON body with secret-named members masked at any depth (re-encoded, numbers exact); a form body as a
    query; else the text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text:
        return ""
    lowered = text.lower()
    if not any(word in lowered for word in SENSITIVE_KEYS) and "sig" not in lowered:
        return _cut(text)  # no secret-looking name anywhere (most order bodies): nothing to parse
    try:
        parsed = json.loads(text, parse_float=JsonNumber)
    except ValueError:
        masked = mask_query(text) if "=" in text and " " not in text else text
    else:
        redacted = redact_value(parsed)
        masked = dumps(redacted) if redacted != parsed else text  # nothing secret: the body exactly as sent
    return _cut(masked)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + f"...[{len(text)} chars]"


_archive_sink: WireSink | None = None
"""Where every client built in this process hands its exchanges (the running gateway's wire archive): the
reconciliation, margin and market-data readers build their own clients through their plugin hooks, and their
requests are archived like the order path's. One gateway per process; None: not archived."""


def archive_every_client(sink: WireSink) -> None:
    """Sets the process's wire-archive sink for clients built from now on (the gateway, at start)."""
    global _archive_sink
    _archive_sink = sink


def archive_sink() -> WireSink | None:
    """The sink `build_client` gives each client it builds (None: not archived)."""
    return _archive_sink


def stop_archiving(sink: WireSink) -> None:
    """Clients built from now on are not archived - unless another gateway of this process set its own since."""
    global _archive_sink
    if _archive_sink == sink:
        _archive_sink = None
