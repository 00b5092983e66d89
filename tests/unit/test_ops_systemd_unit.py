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
@pytest.mark.parametrize("name", ["fixgw.service", "fixgw-ha.service"])
def test_systemd_analyze_verify(tmp_path: Path, name: str) -> None:
    # verify checks that ExecStart exists: point it at this checkout's fixgw.
    fixgw = Path(sys.executable).parent / "fixgw"
    if not fixgw.exists():
        pytest.skip("fixgw is not installed in this environment")
    unit = tmp_path / name
    unit.write_text((ROOT / "systemd" / name).read_text(encoding="utf-8").replace("/opt/fixgw/.venv/bin/fixgw",
                                                                                 str(fixgw)))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert name not in result.stderr, result.stderr


def test_ha_unit_restarts_a_fenced_or_stepped_down_node_as_standby(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """systemd/fixgw-ha.service: the same service, but always restarted (exit 3 fenced, 0 after a step-down) and
    with [ha] switched on through the environment, node_id the host name."""
    from fixgw.config import parse_config

    unit = ROOT / "systemd" / "fixgw-ha.service"
    lines = [line for line in unit.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    settings: dict[str, list[str]] = {}
    for line in lines:
        if "=" in line:
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    assert settings["Restart"] == ["always"] and settings["Type"] == ["notify"] and settings["WatchdogSec"]
    environment = dict(value.split("=", 1) for value in settings["Environment"])
    assert environment["FIXGW_HA__ENABLED"] == "true" and environment["FIXGW_HA__NODE_ID"] == "%H"
    monkeypatch.setenv("FIXGW_HA__ENABLED", "true")
    monkeypatch.setenv("FIXGW_HA__NODE_ID", "gw-1.example")
    config = parse_config({"state_dir": str(tmp_path), "journal": {"url": "postgresql+psycopg://fixgw@db/fixgw"}})
    assert config.ha.enabled and config.ha.node_id == "gw-1.example"
