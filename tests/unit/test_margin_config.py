"""`[margin]` configuration: typos and bad values name their key; check-config checks the haircut table, the
venues and the Coinbase entity id, and summarizes the section."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixgw.cli import main

VENUE = ('[venues.cbp]\nkind = "coinbase_prime"\nportfolio_id = "p1"\naccess_key = "k"\npassphrase = "p"\n'
         'signing_key = "s"\n')


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "gw.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n' + text)
    code = main(["check-config", str(path)])
    return code, capsys.readouterr().out


def test_a_valid_margin_section_is_summarized(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, VENUE + '[margin]\nenabled = true\nsnapshot_s = 30\n'
                      '[margin.venues.cbp]\nentity_id = "e1"\nwarn = "1.6"\n', capsys)
    assert code == 0, out
    assert "margin: every 30 s" in out and "cbp (cross, warn < 1.6, reduce_only < 1.25, critical < 1.1)" in out


@pytest.mark.parametrize(("text", "key"), [
    ('[margin]\nenabled = true\n[margin.venues.cbp]\nentity_id = "e1"\nwarnn = "1.6"\n', "margin.venues.cbp.warnn"),
    ('[margin]\nenabled = true\n[margin.venues.nope]\n', "margin.venues.nope"),
    ('[margin]\nenabled = true\n[margin.venues.cbp]\nwarn = "1.1"\nreduce_only = "1.2"\n', "margin.venues.cbp"),
    ('[margin]\nenabled = true\n[margin.venues.cbp]\n', "margin.venues.cbp.entity_id"),
])
def test_bad_margin_settings_name_their_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                            key: str) -> None:
    code, out = check(tmp_path, VENUE + text, capsys)
    assert code == 1 and key in out, out


def test_a_bad_haircut_table_names_the_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "haircuts.toml"
    table.write_text('[asset.BTC]\nhaircut = 0.1\n')
    code, out = check(tmp_path, VENUE + f'[margin]\nenabled = true\nhaircuts_file = "{table}"\n'
                      '[margin.venues.cbp]\nentity_id = "e1"\n', capsys)
    assert code == 1 and "margin.haircuts_file" in out and "asset.BTC.haircut" in out, out


def test_a_fix_broker_margin_venue_needs_an_account_and_a_dialect_that_answers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    brokers = ('[brokers.eq]\ntarget_comp_id = "B"\nport = 9100\nbegin_string = "FIX.4.4"\n'
               'dialect = "DIALECT"\n[margin]\nenabled = true\n[margin.venues.eq]\nasset_class = "equity"\n')
    code, out = check(tmp_path, brokers.replace("DIALECT", "generic-broker"), capsys)
    assert code == 1 and "margin.venues.eq.account" in out, out
    code, out = check(tmp_path, brokers.replace("DIALECT", "fix42-broker").replace("FIX.4.4", "FIX.4.2")
                      + 'account = "ACC1"\n', capsys)
    assert code == 1 and "account_data = true" in out, out
    code, out = check(tmp_path, brokers.replace("DIALECT", "generic-broker") + 'account = "ACC1"\n', capsys)
    assert code == 0, out
