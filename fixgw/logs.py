"""Logging: structlog configured once. JSON lines off a terminal, console output on one; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SENSITIVE_KEYS = ("password", "secret", "api_key", "apikey", "passphrase", "signature", "token", "signing_key",
                  "private_key", "authorization")
SENSITIVE_FIX_TAGS = ("554", "925", "96")  # Password, NewPassword, RawData
MASK = "***"
# A FIX field whose tag is sensitive, delimited by SOH or '|' (the usual log form).
_FIX_SECRET = re.compile(r"(?:(?<=^)|(?<=[\x01|\s]))(554|925|96)=[^\x01|\s]*")


def _is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_FIX_TAGS or any(word in lowered for word in SENSITIVE_KEYS)


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        if "=" in value and ("554=" in value or "925=" in value or "96=" in value):
            return _FIX_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", value)
        return value
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


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog (and route stdlib logging through it). Safe to call again to reconfigure."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
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


def get_logger(name: str | None = None, **context: Any) -> Any:
    logger = structlog.get_logger(name) if name else structlog.get_logger()
    return logger.bind(**context) if context else logger
