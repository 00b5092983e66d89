"""Regenerate docs/console.png: a loopback gateway with a few minutes of EMS traffic (some broker rejects and
denials), the console open in headless chromium, one screenshot.

    .venv/bin/python scripts/console_screenshot.py [minutes] [output]
    pngquant --quality 60-85 --force --output docs/console.png docs/console.png   # keeps it near 100 kB
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from gateway_stack import new_order  # noqa: E402
from ops_stack import TOKEN, ops_stack  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1400,1560")


def main(minutes: float, output: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch, ops_stack(Path(scratch)) as (stack, ops):
        ops.admin.console.step_s = 2.0  # denser chart points for a short run
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for flag in (*FLAGS, f"--user-data-dir={Path(scratch) / 'profile'}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
        try:
            driver.get(f"{ops.admin.url}/console?token={TOKEN}")
            clients = [stack.ems("ems-a"), stack.ems("ems-b")]
            end, n = time.monotonic() + minutes * 60, 0
            while time.monotonic() < end:
                n += 1
                client = clients[0] if random.random() < 0.7 else clients[1]
                symbol = "MSFT" if random.random() < 0.08 else "AAPL"  # the simulator rejects MSFT
                account = "ACC9" if random.random() < 0.04 else random.choice(["ACC1", "ACC2"])  # denied
                client.send(new_order(f"D{n}", symbol=symbol, qty=str(random.choice([100, 200, 500])),
                                      account=account, handl_inst=client is clients[1]))
                time.sleep(random.uniform(0.05, 0.6) * (1.5 + math.sin(time.monotonic() / 20)))
            time.sleep(3)
            driver.save_screenshot(str(output))
        finally:
            driver.quit()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.5,
         Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "console.png")
