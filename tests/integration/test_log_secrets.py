"""No secret reaches the gateway's log output, whoever logs it: a child process configured as `fixgw run` is
(fixgw.logs.configure_logging) sends an alert to a webhook whose URL carries `?apikey=`, polls a venue-like URL
with a key and userinfo, and lets third-party loggers speak; its real stdout and stderr are searched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SECRET-4d1c9e"

CHILD = """
import asyncio, logging, os
from datetime import UTC, datetime
import httpx, structlog
from fixgw.config import AlertsConfig
from fixgw.logs import configure_logging
from fixgw.ops.alert_rules import FIRING, Alert
from fixgw.ops.alert_sinks import AlertDispatcher

configure_logging("INFO", "json")  # what `fixgw run` does with [log] level = "INFO"
hook, venue = os.environ["TEST_HOOK_URL"], os.environ["TEST_VENUE_URL"]
dispatcher = AlertDispatcher(AlertsConfig(sinks={"ops": {"kind": "slack", "url": "env:TEST_HOOK_URL"}}), "gw")
dispatcher.start()
dispatcher.submit(Alert("session_down", "equities", FIRING, "critical", "equities is down", datetime.now(UTC)))
assert dispatcher.flush(15)
dispatcher.stop()

async def poll():  # what a REST venue's status polling does, through httpx's AsyncClient
    async with httpx.AsyncClient() as client:
        for _ in range(3):
            await client.get(venue)
asyncio.run(poll())
logging.getLogger("httpx").warning("retrying %s", venue)  # a third-party warning still gets through: redacted
logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET %s HTTP/1.1" 200', venue)
try:
    httpx.get(venue).raise_for_status()
except httpx.HTTPStatusError:
    structlog.get_logger("fixgw.test").exception("venue.poll_failed")  # the exception text names the URL
structlog.get_logger("fixgw.test").info("done")
"""


def test_webhook_and_venue_keys_never_reach_the_log(tmp_path: Path) -> None:
    with WebhookReceiver() as receiver:
        hook = f"{receiver.url}?apikey={SECRET}"
        venue = receiver.url.replace("http://", f"http://trader:{SECRET}@") + f"/orders?api_key={SECRET}&limit=5"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_HOOK_URL": hook, "TEST_VENUE_URL": venue}
        child = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60,
                               cwd=tmp_path)
        assert receiver.bodies, "the alert was not delivered"
    output = child.stdout + child.stderr
    assert child.returncode == 0, output
    assert SECRET not in output
    events = [json.loads(line) for line in child.stderr.splitlines()]
    names = [event["event"] for event in events]
    assert "alert.delivered" in names and names[-1] == "done"
    assert not [name for name in names if name.startswith("HTTP Request")]  # httpx's per-request INFO lines
    warning = next(event for event in events if str(event["event"]).startswith("retrying"))
    assert "api_key=***" in warning["event"] and "trader:***@" in warning["event"]
    failure = next(event for event in events if event["event"] == "venue.poll_failed")
    assert "api_key=***" in failure["exception"]
