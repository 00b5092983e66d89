"""Configuration: valid/invalid files, env overrides, secret references and secret hygiene."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixgw.config import ConfigError, GatewayConfig, load_config, parse_config

VALID = """
name = "desk-a"
state_dir = "state"

[log]
level = "DEBUG"

[acceptor]
port = 9001
quickfix = { HeartBtInt = 30, ResetOnLogon = true }

[ems.desk1]
begin_string = "FIX.4.4"
target_comp_id = "EMS1"
allowed_accounts = ["ACC1", "ACC2"]

[brokers.alpha]
begin_string = "FIX.4.2"
target_comp_id = "ALPHA"
port = 9100
password = "env:FIXGW_TEST_ALPHA_PASSWORD"
quickfix = { HeartBtInt = 15, StartTime = "00:00:00" }

[[routing.rules]]
name = "equities"
match = { asset_class = ["equity"] }
destination = "alpha"

[routing]
default = "alpha"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def keys(exc: ConfigError) -> list[str]:
    return [key for key, _ in exc.problems]


def test_valid_file_loads_with_paths_relative_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "s3cr3t-alpha")
    config = load_config(write(tmp_path, VALID))
    assert config.name == "desk-a"
    assert config.state_dir == tmp_path / "state"
    assert config.ems["desk1"].allowed_accounts == ["ACC1", "ACC2"]
    assert config.brokers["alpha"].quickfix["HeartBtInt"] == 15
    assert config.brokers["alpha"].password is not None
    assert config.brokers["alpha"].password.get_secret_value() == "s3cr3t-alpha"
    assert config.journal_url == f"sqlite:///{tmp_path / 'state' / 'journal.db'}"


def test_journal_sync_defaults_to_full_and_a_bad_value_is_named(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "x")
    assert load_config(write(tmp_path, VALID)).journal.sync == "full"
    assert load_config(write(tmp_path, VALID + '\n[journal]\nsync = "normal"\n')).journal.sync == "normal"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID + '\n[journal]\nsync = "off"\n'))
    assert "journal.sync" in keys(info.value)


def test_unknown_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "x")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID.replace('level = "DEBUG"', 'levle = "DEBUG"')))
    assert "log.levle" in keys(info.value)


def test_wrong_type_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "x")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID.replace("port = 9100", 'port = "many"')))
    assert "brokers.alpha.port" in keys(info.value)


def test_missing_secret_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIXGW_TEST_ALPHA_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID))
    assert keys(info.value) == ["brokers.alpha.password"]
    assert "FIXGW_TEST_ALPHA_PASSWORD" in info.value.problems[0][1]


def test_secret_from_file_and_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "alpha.pw"
    secret_file.write_text("from-file\n")
    config = load_config(write(tmp_path, VALID.replace("env:FIXGW_TEST_ALPHA_PASSWORD", f"file:{secret_file}")))
    assert config.brokers["alpha"].password is not None
    assert config.brokers["alpha"].password.get_secret_value() == "from-file"

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "alpha-password").write_text("from-credential")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config = load_config(write(tmp_path, VALID.replace("env:FIXGW_TEST_ALPHA_PASSWORD", "cred:alpha-password")))
    assert config.brokers["alpha"].password is not None
    assert config.brokers["alpha"].password.get_secret_value() == "from-credential"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "x")
    monkeypatch.setenv("FIXGW_LOG__LEVEL", "WARNING")
    monkeypatch.setenv("FIXGW_ACCEPTOR__PORT", "9555")
    config = load_config(write(tmp_path, VALID))
    assert config.log.level == "WARNING"
    assert config.acceptor.port == 9555
    assert config.acceptor.quickfix["HeartBtInt"] == 30  # the rest of the section is kept


def test_bad_environment_override_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_LOG__LEVEL", "CHATTY")
    with pytest.raises(ConfigError) as info:
        parse_config({})
    assert "log.level" in keys(info.value)


def test_secret_never_in_repr_or_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "s3cr3t-alpha")
    config = load_config(write(tmp_path, VALID))
    assert "s3cr3t-alpha" not in repr(config)
    assert "s3cr3t-alpha" not in str(config)
    assert "s3cr3t-alpha" not in config.model_dump_json()


def test_routing_rules_must_name_known_venues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_TEST_ALPHA_PASSWORD", "x")
    text = VALID.replace('destination = "alpha"', 'destination = "beta"\nbackup = "gamma"')
    text = text.replace('default = "alpha"', 'default = "delta"')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert set(keys(info.value)) >= {"routing.rules.0.destination", "routing.rules.0.backup", "routing.default"}


def test_toml_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "name = \n"))
    assert keys(info.value) == ["(syntax)"]


def test_defaults_are_usable() -> None:
    config = GatewayConfig()
    assert config.routing.default is None
    assert config.symbols_path.name == "symbols.toml"
