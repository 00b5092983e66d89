"""systemd/fixgw.service passes `systemd-analyze verify` (skipped where systemd-analyze is not installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "fixgw.service"


def _settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_unit_declares_notify_watchdog_and_hardening() -> None:
    settings = _settings()
    assert settings["Type"] == ["notify"] and settings["WatchdogSec"] and settings["TimeoutStopSec"]
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key in ("DynamicUser", "NoNewPrivileges", "PrivateTmp", "StateDirectory", "ConfigurationDirectory",
                "LoadCredential", "ProtectSystem", "RestrictAddressFamilies", "SystemCallFilter"):
        assert key in settings, key
    assert settings["ProtectSystem"] == ["strict"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's fixgw.
    fixgw = Path(sys.executable).parent / "fixgw"
    if not fixgw.exists():
        pytest.skip("fixgw is not installed in this environment")
    unit = tmp_path / "fixgw.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/fixgw/.venv/bin/fixgw", str(fixgw)))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "fixgw.service" not in result.stderr, result.stderr
