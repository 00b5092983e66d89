"""The status page in a real headless browser (Debian's chromium): a screenshot and the rendered DOM.

Uses /usr/bin/chromium, which `scripts/test` installs when missing (scripts/ensure-browser): without it this test
fails, it never skips.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from gateway_stack import new_order, report, status
from ops_stack import TOKEN, ops_stack

CHROMIUM = Path("/usr/bin/chromium")


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM.exists(), "chromium is not installed: run scripts/ensure-browser"
    command = [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp / 'chromium-profile'}",
               "--window-size=1280,1024", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_status_page_renders_sessions_orders_and_rejects(tmp_path: Path) -> None:
    with ops_stack(tmp_path) as (stack, ops):
        stack.broker.auto_fill = False
        ems = stack.ems()
        ems.send(new_order("P1", qty="100"))
        report(ems, "P1", status("0"))
        ems.send(new_order("P2", account="ACC9"))
        report(ems, "P2", status("8"))
        # The page is opened the way an operator does: once with the token, which becomes a cookie.
        url = f"{ops.admin.url}/status?token={TOKEN}"
        dom = chromium(tmp_path, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        for text in ("ems-a", "ems-b", "equities", "P1", "UNKNOWN_ACCOUNT", "READY", "Open orders: 1", "p99"):
            assert text in dom.stdout, text
        screenshot = tmp_path / "status.png"
        shot = chromium(tmp_path, f"--screenshot={screenshot}", url)
        assert shot.returncode == 0, shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a rendered page, not a blank canvas
