"""Logging: structlog configured once. JSON lines off a terminal, console output on one; secrets redacted.

Third-party loggers that print request URLs or chatter on every call (httpx, httpcore, uvicorn's access log,
alembic, apscheduler) are held at WARNING: fixgw says what matters about HTTP, migrations and jobs in its own
events, and everything that still gets through passes the same redaction (secret query values, URL userinfo).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any, TextIO

import structlog

SENSITIVE_KEYS = ("password", "secret", "api_key", "apikey", "passphrase", "signature", "token", "signing_key",
                  "private_key", "authorization")
SENSITIVE_FIX_TAGS = ("554", "925", "96")  # Password, NewPassword, RawData
MASK = "***"
# A FIX field whose tag is sensitive, delimited by SOH or '|' (the usual log form).
_FIX_SECRET = re.compile(r"(?:(?<=^)|(?<=[\x01|\s]))(554|925|96)=[^\x01|\s]*")
# A URL query parameter whose name looks secret (apikey=, access_token=, X-Amz-Signature=, sig=, ...).
_QUERY_SECRET = re.compile(r"(?i)([?&;][^=&#\s]*(?:password|passwd|secret|key|token|passphrase|signature|sig|auth"
                           r"|credential)[^=&#\s]*=)[^&#\s'\"<>]*")
# user:password@ or token@ in a URL.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:([^:/?#@\s'\"]*):)?[^/?#@\s'\"]+@")
QUIET_LOGGERS = ("httpx", "httpcore", "websockets", "uvicorn.access", "alembic", "apscheduler")
"""Held at WARNING whatever the level: they log request URLs and headers (DEBUG) or every poll and run."""


def _is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_FIX_TAGS or any(word in lowered for word in SENSITIVE_KEYS)


def redact_url(text: str) -> str:
    """`text` with URL userinfo and the values of secret-looking query parameters masked."""
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2) + ':' if m.group(2) else ''}{MASK}@", text)
    if "=" in text and ("?" in text or "&" in text):
        text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        if "=" in value and ("554=" in value or "925=" in value or "96=" in value):
            value = _FIX_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", value)
        return redact_url(value)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _is_sensitive_key(k) else redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Field lists [(tag, value), ...] are common in our logs.
        redacted = []
        for item in value:
            if isinstance(item, tuple) and len(item) == 2 and str(item[0]) in SENSITIVE_FIX_TAGS:
                redacted.append((item[0], MASK))
            else:
                redacted.append(redact_value(item))
        return type(value)(redacted) if isinstance(value, tuple) else redacted
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask values of sensitive keys and sensitive FIX tags anywhere in the event."""
    for key in list(event_dict):
        if _is_sensitive_key(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def plain_decimal(value: Decimal) -> str:
    """A Decimal as people write it: 0 not 0E-10, 100000000000 not 0E+11 or 1E+11, 1.5 not 1.50000."""
    if not value.is_finite():
        return str(value)
    return format(value.normalize(), "f") if value else "0"


def _plain_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, dict):
        return {k: _plain_decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_decimals(v) for v in value)
    return value


def render_decimals(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: Decimals (anywhere in the event) as plain strings, never exponent notation."""
    for key, value in event_dict.items():
        if isinstance(value, (Decimal, dict, list, tuple)):
            event_dict[key] = _plain_decimals(value)
    return event_dict


def error_text(exc: BaseException, *, innermost: bool = False) -> str:
    """An error in one line that says something: an OSError's path, QuickFIX's `detail` (its SWIG exceptions print
    as `<quickfix.RuntimeError; proxy of ...>`), a database driver's own message; `innermost`: of the root cause."""
    while innermost and exc.__cause__ is not None:
        exc = exc.__cause__
    if innermost:
        exc = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str) and detail:
        text = detail
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog (and route stdlib logging through it). Safe to call again to reconfigure."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        render_decimals,
        redact_secrets,  # last: exception texts (formatted just above) carry URLs too
    ]
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer], foreign_pre_chain=shared))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def get_logger(name: str | None = None, **context: Any) -> Any:
    logger = structlog.get_logger(name) if name else structlog.get_logger()
    return logger.bind(**context) if context else logger
