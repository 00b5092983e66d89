"""`[venues.<name>] kind = "clear_street"`: the section, its OAuth 2.0 keys as secret references, and
`fixgw check-config` naming the key of each problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixgw.cli import main
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import deep_check, summarize
from fixgw.venues.bridge.clear_street.plugin import ClearStreetSection

SECTION = {"kind": "clear_street", "account_id": "100000", "client_id": "env:T_CS_ID",
           "client_secret": "env:T_CS_SECRET"}


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_CS_ID", "id-value-1")
    monkeypatch.setenv("T_CS_SECRET", "secret-value-9f2")
    monkeypatch.delenv("T_CS_MISSING", raising=False)


def problems(section: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ConfigError) as raised:
        parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": {"cs": section}})
    return dict(raised.value.problems)


def test_section_defaults_are_the_documented_endpoints_and_secrets_stay_hidden() -> None:
    loaded = parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": {"cs": SECTION}})
    section = loaded.venues["cs"]
    assert isinstance(section, ClearStreetSection)
    assert section.base_url == "https://api.clearstreet.io/studio/v2"
    assert section.token_url == "https://auth.clearstreet.io/oauth/token"
    assert section.audience == "https://api.clearstreet.io" and section.day_orders == "native"
    assert section.client_secret.get_secret_value() == "secret-value-9f2"
    assert "secret-value-9f2" not in f"{loaded!r} {section} {section.model_dump_json()}"
    assert any("REST venue cs: clear_street" in line for line in summarize(loaded))
    assert deep_check(loaded) == []  # specs/symbols.toml has clear_street symbols


def test_each_problem_is_named_by_its_key() -> None:
    assert problems({**SECTION, "client_secret": "env:T_CS_MISSING"}) == {
        "venues.cs.client_secret": "environment variable T_CS_MISSING is not set"}
    found = problems({**SECTION, "token_url": "auth.clearstreet.io/oauth/token", "token_body": "xml",
                      "token_expiry_margin_s": -1})
    assert set(found) == {"venues.cs.token_url", "venues.cs.token_body", "venues.cs.token_expiry_margin_s"}
    assert "not an http(s) URL" in found["venues.cs.token_url"]
    found = problems({key: value for key, value in SECTION.items() if key != "account_id"})
    assert set(found) == {"venues.cs.account_id"}


def test_check_config_exits_non_zero_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gw.toml"
    path.write_text('[ems.ems-a]\ntarget_comp_id = "EMS-A"\n\n[venues.cs]\nkind = "clear_street"\n'
                    'account_id = "100000"\nclient_id = "env:T_CS_ID"\nclient_secret = "env:T_CS_MISSING"\n'
                    'token_url = "ftp://auth"\n')
    assert main(["check-config", str(path)]) == 1
    output = capsys.readouterr()
    text = output.out + output.err
    assert "venues.cs.client_secret" in text and "venues.cs.token_url" in text
    path.write_text(path.read_text().replace("T_CS_MISSING", "T_CS_SECRET").replace("ftp://auth",
                                                                                      "https://auth.example/token"))
    assert main(["check-config", str(path)]) == 0
    output = capsys.readouterr()
    assert "secret-value-9f2" not in output.out + output.err
