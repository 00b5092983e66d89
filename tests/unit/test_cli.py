"""The CLI in-process: exit codes, usage errors, check-config output."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixgw import __version__
from fixgw.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "check-config" in out and "version" in out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "Usage" in capsys.readouterr().err


def test_missing_argument_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_check_config_typo_names_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[acceptor]\nprot = 9000\n')
    assert main(["check-config", str(path)]) == 1
    assert "acceptor.prot" in capsys.readouterr().out


def test_check_config_valid_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[ems.desk]\ntarget_comp_id = "EMS1"\n')
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "EMS1" in out


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "nope.toml")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_check_config_never_prints_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIXGW_TEST_PW", "pw-should-not-print")
    path = tmp_path / "ok.toml"
    path.write_text('[brokers.b]\ntarget_comp_id = "B"\nport = 9100\npassword = "env:FIXGW_TEST_PW"\n'
                    'bogus = 1\n[journal]\nurl = "postgresql+psycopg://u:dbpass@127.0.0.1/x"\n')
    main(["check-config", str(path)])
    path.write_text('[brokers.b]\ntarget_comp_id = "B"\nport = 9100\npassword = "env:FIXGW_TEST_PW"\n'
                    '[journal]\nurl = "postgresql+psycopg://u:dbpass@127.0.0.1/x"\n')
    main(["check-config", str(path)])
    captured = capsys.readouterr()
    assert "pw-should-not-print" not in captured.out + captured.err
    assert "dbpass" not in captured.out + captured.err


def test_check_config_names_a_bad_unknown_orders_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIXGW_TEST_CB_SECRET", "c2VjcmV0")
    path = tmp_path / "bad.toml"
    path.write_text('[venues.cbp]\nkind = "coinbase_prime"\nbase_url = "https://api.prime.coinbase.com"\n'
                    'portfolio_id = "pf"\naccess_key = "env:FIXGW_TEST_CB_SECRET"\n'
                    'passphrase = "env:FIXGW_TEST_CB_SECRET"\nsigning_key = "env:FIXGW_TEST_CB_SECRET"\n'
                    'unknown_orders = "ignore"\n')
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "venues.cbp.unknown_orders" in out
