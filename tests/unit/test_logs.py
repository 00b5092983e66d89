"""Logging: JSON lines with UTC microsecond timestamps; secrets never reach the output."""

from __future__ import annotations

import io
import json
from datetime import datetime

from pydantic import SecretStr

from fixgw.logs import configure_logging, get_logger


def capture(level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, "json", stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_utc_microsecond_timestamps() -> None:
    stream = capture()
    get_logger(session="EMS1").info("order.accepted", cl_ord_id="A1")
    (entry,) = lines(stream)
    assert entry["event"] == "order.accepted"
    assert entry["session"] == "EMS1"
    stamp = datetime.fromisoformat(str(entry["timestamp"]).replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert len(str(entry["timestamp"]).split(".")[1].rstrip("Z")) == 6


def test_level_filters() -> None:
    stream = capture("WARNING")
    get_logger().info("quiet")
    get_logger().warning("loud")
    assert [e["event"] for e in lines(stream)] == ["loud"]


def test_secrets_are_redacted_everywhere() -> None:
    stream = capture()
    secret = "hunter2-very-secret"
    log = get_logger()
    log.info("a", password=secret, api_key=secret, passphrase=secret, signing_key=secret)
    log.info("b", raw=f"8=FIX.4.4\x0135=A\x01553=trader\x01554={secret}\x0110=000\x01")
    log.info("c", raw=f"8=FIX.4.4|35=A|925={secret}|96={secret}|10=000|")
    log.info("d", fields=[(553, "trader"), (554, secret)], nested={"credentials": {"secret": secret}})
    log.info("e", settings={"Password": secret}, value=SecretStr(secret))
    output = stream.getvalue()
    assert secret not in output
    assert len(lines(stream)) == 5
    assert "553=trader" in output  # only the secret is masked, not the whole message


def test_stdlib_logging_goes_through_redaction() -> None:
    import logging

    stream = capture()
    logging.getLogger("third.party").warning("connect with 554=topsecret|")
    output = stream.getvalue()
    assert "connect with" in output
    assert "topsecret" not in output
