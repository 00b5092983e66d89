"""The operator console in a real headless browser (Debian's chromium driven by chromedriver through Selenium),
against a gateway with real EMS and broker sessions on loopback.

`scripts/test` installs chromium and chromium-driver when missing (scripts/ensure-browser); without them this test
fails, it never skips. Selenium Manager is never asked for a driver: the Service names /usr/bin/chromedriver.
docs/console.png is made by scripts/console_screenshot.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_stack import Stack, new_order, report, status
from ops_stack import TOKEN, ops_stack
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from fixgw.config import GatewayConfig
from fixgw.margin.service import LAST_STATE
from fixgw.margin.settings import MarginConfig, MarginVenueConfig
from fixgw.ops.admin import AdminServer
from fixgw.ops.runtime import OpsRuntime
from fixgw.risk.settings import InstrumentRisk
from fixgw.store.journal import JournalBatch

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
READ_ONLY = "console-read-only-token"
WAIT_S = 20.0
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions", "--window-size=1400,1700")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "chromium/chromedriver missing: run scripts/ensure-browser"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    # The page replaces its tables as updates arrive: an element found a moment ago may be gone.
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(condition, message=what)


def text(driver: WebDriver, css: str) -> str:
    """The rendered text of an element, read in one script call (no stale element in between)."""
    return str(driver.execute_script("return document.querySelector(arguments[0]).innerText", css))


def blotter_rows(driver: WebDriver) -> list[list[str]]:
    rows = driver.execute_script("return [...document.querySelectorAll('#blotter tbody tr')].map("
                                 "r => [...r.querySelectorAll('td')].map(c => c.innerText))")
    return [list(row) for row in rows]


def control(driver: WebDriver, action: str, scope: str, confirm: str) -> str:
    """Fill the controls form, review, type `confirm`, press Confirm; return the result line once it changes."""
    Select(driver.find_element(By.ID, "ctl-action")).select_by_value(action)
    wait(driver, lambda d: scope in [o.get_attribute("value") for o in
                                     Select(d.find_element(By.ID, "ctl-scope")).options], f"scope {scope} offered")
    Select(driver.find_element(By.ID, "ctl-scope")).select_by_value(scope)
    for field, value in (("ctl-operator", "alice"), ("ctl-reason", f"console test {action}")):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.ID, "ctl-review").click()
    wait(driver, lambda d: d.find_element(By.ID, "ctl-confirm-text").is_displayed(), "the confirmation step")
    driver.execute_script("document.getElementById('ctl-result').textContent = ''")
    driver.find_element(By.ID, "ctl-confirm-text").send_keys(confirm)
    driver.find_element(By.ID, "ctl-confirm").click()
    return str(wait(driver, lambda d: d.find_element(By.ID, "ctl-result").text, "the action's answer"))


def test_the_console_is_live_filters_the_blotter_and_kills_through_the_page(tmp_path: Path,
                                                                            browser: WebDriver) -> None:
    with ops_stack(tmp_path, admin={"read_only_tokens": [READ_ONLY]}, configure=with_prices_and_margin) as (stack, ops):
        stack.broker.auto_fill = False
        _drive(browser, stack, ops, tmp_path)


def with_prices_and_margin(config: GatewayConfig) -> GatewayConfig:
    """A static reference price for AAPL (so /api/prices has something to chart) and margin thresholds for the
    broker (the margin chart's lines; the margin service itself stays off)."""
    instruments = {"AAPL": InstrumentRisk(reference_price=Decimal("190"))}
    thresholds = MarginVenueConfig(warn=Decimal("1.6"), reduce_only=Decimal("1.3"), critical=Decimal("1.2"))
    return config.model_copy(update={"risk": config.risk.model_copy(update={"instruments": instruments}),
                                     "margin": MarginConfig(venues={"equities": thresholds})})


def publish_margin(ops: OpsRuntime, ratio: str) -> None:
    """The margin service's latest status as it journals it (read by /api/margin), without a margin venue to poll."""
    status = {"as_of": "2026-01-01T00:00:00+00:00", "desk": {},
              "venues": {"equities": {"mode": "cross", "state": "warn", "margin_ratio": ratio}}}
    ops.gateway.journal.write(JournalBatch(state={LAST_STATE: json.dumps(status)}))


def _drive(driver: WebDriver, stack: Stack, ops: OpsRuntime, tmp_path: Path) -> None:
    ems_a, ems_b = stack.ems("ems-a"), stack.ems("ems-b")
    publish_margin(ops, "1.42")
    driver.get(f"{ops.admin.url}/console?token={TOKEN}")
    assert "token" not in driver.current_url  # the token became a cookie
    wait(driver, lambda d: text(d, "#conn") == "live", "the event stream connects")
    wait(driver, lambda d: "equities" in text(d, "#sessions") and "ems-b" in text(d, "#sessions"), "sessions")
    assert "UP" in text(driver, "#sessions") and text(driver, "#ready") == "READY"
    wait(driver, lambda d: "AAPL 190" in text(d, "#chart-prices"), "the reference price charted from /api/prices")
    wait(driver, lambda d: "equities 1.42" in text(d, "#chart-margin"), "the margin ratio charted")
    wait(driver, lambda d: all(f"{name} {value}" in text(d, "#chart-margin")  # margin.venues.equities
                               for name, value in (("warn", "1.60"), ("reduce_only", "1.30"), ("critical", "1.20"))),
         "the margin thresholds drawn")
    assert driver.execute_script("return document.querySelectorAll('#chart-margin line').length") == 3

    # Live: an order through a real EMS session appears without reloading the page.
    driver.execute_script("window.__sameDocument = true")
    first_update = text(driver, "#last-update")
    ems_a.send(new_order("L1", qty="100"))
    report(ems_a, "L1", status("0"))
    wait(driver, lambda d: any("L1" in row for row in blotter_rows(d)), "L1 in the blotter")
    wait(driver, lambda d: "open 1" in text(d, "#book-summary"), "the open-order count")
    wait(driver, lambda d: text(d, "#last-update") != first_update, "a later update")
    assert driver.execute_script("return window.__sameDocument") is True

    # The blotter filters by EMS session, and an order opens its history.
    ems_b.send(new_order("L2", qty="50", account="ACC2", handl_inst=True))
    report(ems_b, "L2", status("0"))
    wait(driver, lambda d: any("L2" in row for row in blotter_rows(d)), "L2 in the blotter")
    Select(driver.find_element(By.ID, "f-ems")).select_by_value("ems-b")
    wait(driver, lambda d: [row[3] for row in blotter_rows(d)] == ["L2"], "only ems-b's order")
    Select(driver.find_element(By.ID, "f-ems")).select_by_value("")
    Select(driver.find_element(By.ID, "f-account")).select_by_value("ACC1")
    wait(driver, lambda d: [row[3] for row in blotter_rows(d)] == ["L1"], "only ACC1's order")
    Select(driver.find_element(By.ID, "f-account")).select_by_value("")
    driver.find_element(By.ID, "f-instrument").send_keys("MSFT")
    wait(driver, lambda d: "no order matches" in text(d, "#blotter"), "no MSFT order")
    driver.find_element(By.ID, "f-instrument").clear()
    driver.execute_script("document.getElementById('f-instrument').dispatchEvent(new Event('input'))")
    wait(driver, lambda d: len(blotter_rows(d)) == 2, "both orders again")
    driver.execute_script("[...document.querySelectorAll('#blotter tbody tr')].find(r => r.innerText.includes('L2'))"
                          ".click()")
    wait(driver, lambda d: "35=D" in text(d, "#order-detail"), "the order's FIX messages")
    detail = text(driver, "#order-detail")
    assert "Events" in detail and "ems-b" in detail and "route" in detail
    driver.find_element(By.CSS_SELECTOR, "#order-detail form button").click()

    # A missing confirmation changes nothing; a confirmed kill switch denies orders until it is cleared.
    assert "refused (HTTP 422)" in control(driver, "kill_set", "global", "glob")
    assert ops.gateway.journal.state_with_prefix("risk.kill") == {}
    assert control(driver, "kill_set", "global", "global").startswith("done: kill switch set for global by alice")
    wait(driver, lambda d: "KILL SWITCH ENGAGED" in text(d, "#banners") and "ENGAGED" in text(d, "#risk"),
         "the kill switch shown engaged")
    ems_a.send(new_order("K1"))
    assert "kill" in report(ems_a, "K1", status("8")).get(58).lower()
    wait(driver, lambda d: "K1" in text(d, "#blotter") and "DENIED" in text(d, "#blotter"), "the denial")
    assert control(driver, "kill_clear", "global", "global").startswith("done: kill switch cleared for global")
    wait(driver, lambda d: "KILL SWITCH" not in text(d, "#banners") and "ENGAGED" not in text(d, "#risk"),
         "the kill switch shown cleared")
    ems_a.send(new_order("K2"))
    report(ems_a, "K2", status("0"))
    screenshot = tmp_path / "console.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The stream drops: the page says so, and reconnects by itself when the server is back.
    port = ops.admin.port
    ops.admin.stop()
    wait(driver, lambda d: "DISCONNECTED" in text(d, "#conn"), "the disconnected state")
    restarted = AdminServer(ops)
    restarted._server.config.port = port  # the same address the page knows
    restarted.start()
    ops.admin = restarted
    wait(driver, lambda d: text(d, "#conn") == "live", "reconnected")
    # The page's CSRF token was bound to the server that is gone: stale, refused, nothing changes.
    assert "refused (HTTP 403): missing or stale CSRF token" in control(driver, "kill_set", "global", "global")
    # The console writes the journal row before it answers: a row still cleared means nothing was written.
    assert json.loads(ops.gateway.journal.get_state("risk.kill:global"))["active"] is False

    # A read-only token sees everything and no controls.
    driver.get(f"{ops.admin.url}/console?token={READ_ONLY}")
    wait(driver, lambda d: text(d, "#conn") == "live" and "ems-a" in text(d, "#sessions"), "read-only console")
    assert not driver.find_element(By.ID, "controls").is_displayed()
    assert "Read-only token" in text(driver, "body")

