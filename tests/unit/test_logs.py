"""Logging: JSON lines with UTC microsecond timestamps; secrets never reach the output."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

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


def test_decimals_render_plainly_never_in_exponent_notation() -> None:
    from decimal import Decimal

    stream = capture()
    get_logger().info("fill", cum_qty=Decimal("0E-10"), notional=Decimal("0E+11"), cap=Decimal("1E+11"),
                      detail={"px": Decimal("1.50000"), "legs": [Decimal("-0.000"), Decimal("0.0000001")]})
    (entry,) = lines(stream)
    assert (entry["cum_qty"], entry["notional"], entry["cap"]) == ("0", "0", "100000000000")
    assert entry["detail"] == {"px": "1.5", "legs": ["0", "0.0000001"]}


def test_journal_migration_is_one_event_of_ours_not_alembics_chatter(tmp_path: Path) -> None:
    from fixgw.store import Journal

    stream = capture()
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}"):
        pass
    with Journal(f"sqlite:///{tmp_path / 'journal.db'}"):
        pass  # already at head: nothing to say
    (entry,) = lines(stream)
    assert entry["event"] == "journal.migrated" and entry["from_revision"] is None and entry["to_revision"]


def test_url_secrets_are_masked_in_any_text() -> None:
    stream = capture()
    get_logger().info("x", note="GET https://svc:pa55@api.example/v1?apikey=k3y&limit=5&signature=s1g",
                      dsn="postgresql+psycopg://fixgw:dbpa55@db/fixgw")
    (entry,) = lines(stream)
    assert entry["note"] == "GET https://svc:***@api.example/v1?apikey=***&limit=5&signature=***"
    assert entry["dsn"] == "postgresql+psycopg://fixgw:***@db/fixgw"


def test_url_and_header_printing_loggers_stay_quiet_even_at_debug() -> None:
    import logging

    from fixgw.logs import QUIET_LOGGERS

    # uvicorn.Config(access_log=False) - the admin API's, the simulators' - turns uvicorn.access's propagation off
    # for the whole process (quieter still): a test run earlier in this worker must not decide this one.
    logging.getLogger("uvicorn.access").propagate = True
    stream = capture("DEBUG")
    for name in QUIET_LOGGERS:
        logging.getLogger(f"{name}.client").info("GET https://venue.example/orders Authorization: Bearer k")
        logging.getLogger(name).warning("still heard")
    assert [e["event"] for e in lines(stream)] == ["still heard"] * len(QUIET_LOGGERS)
    assert "websockets" in QUIET_LOGGERS and "httpx" in QUIET_LOGGERS
