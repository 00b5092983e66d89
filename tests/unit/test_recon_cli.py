"""`fixgw recon` in-process: exit 0 on a clean day, 1 with breaks, 2 on usage errors; reports and the journal
state it leaves; `fixgw check-config` on the [recon] section."""

from __future__ import annotations

from pathlib import Path

from fixgw.cli import main
from fixgw.store import Journal

HEADER = "record_type,trade_id,instrument,side,qty,price,time\n"


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(f"""
state_dir = "state"
[log]
format = "json"
[recon]
timezone = "UTC"
{extra}
[recon.venues.equities]
statement_dir = "{tmp_path / 'drop'}"
[recon.venues.crypto]
statement_dir = "{tmp_path / 'drop'}"
""", encoding="utf-8")
    (tmp_path / "drop").mkdir(exist_ok=True)
    return path


def test_recon_exit_codes_reports_and_state(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    assert main(["recon", "--date", "2026-11-20", "--config", str(config), "--venue", "equities",
                 "--statement", str(empty)]) == 0
    journal_url = f"sqlite:///{tmp_path / 'state' / 'journal.db'}"
    with Journal(journal_url) as journal:
        assert journal.get_state("recon:2026-11-20") == "clean"
    report = tmp_path / "state" / "recon" / "2026-11-20" / "equities.breaks.csv"
    assert report.read_text().startswith("recon_date,venue,settle_date")

    # Every configured venue, each from its drop folder: the broker has a trade we do not.
    (tmp_path / "drop" / "equities-2026-11-20.csv").write_text(HEADER)
    (tmp_path / "drop" / "crypto-2026-11-20.csv").write_text(HEADER + "trade,X1,BTC/USD,buy,1,60000,"
                                                              "2026-11-20T15:00:00Z\n")
    assert main(["recon", "--date", "2026-11-20", "--config", str(config)]) == 1
    with Journal(journal_url) as journal:
        assert journal.get_state("recon:2026-11-20") == "breaks"
        assert journal.get_state("recon:2026-11-20:crypto") == "breaks"
        assert journal.get_state("recon:2026-11-20:equities") == "clean"

    # A missing statement is a failed run (exit 1), not a clean one.
    assert main(["recon", "--date", "2026-11-21", "--config", str(config), "--venue", "equities"]) == 1


def test_recon_usage_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert main(["recon", "--date", "20-11-2026", "--config", str(config)]) == 2
    assert main(["recon", "--date", "2026-11-20", "--config", str(config), "--statement", "x.csv"]) == 2
    assert main(["recon", "--config", str(config)]) == 2
    assert main(["recon", "--help"]) == 0


def test_check_config_names_bad_recon_settings(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, 'eod_cron = "61 17 * * 1-5"\ncalendars = { crypto_spot = "mars" }\n'
                                    '[recon.drift]\nvenues = ["equities"]')
    assert main(["check-config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "recon.eod_cron" in out and "recon.calendars.crypto_spot" in out and "recon.drift.venues" in out
    (tmp_path / "ok").mkdir()
    assert main(["check-config", str(write_config(tmp_path / "ok"))]) == 0


def test_recon_date_accepts_today_and_yesterday_in_the_recon_timezone(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from fixgw.cli.recon import recon_day

    # 02:00 UTC on the 21st is still the 20th in New York: the recon timezone decides.
    late = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert recon_day("today", new_york, late) == date(2026, 11, 20)
    assert recon_day("yesterday", new_york, late) == date(2026, 11, 19)
    assert recon_day("Today", ZoneInfo("UTC"), late) == date(2026, 11, 21)
    assert recon_day("2026-11-18", new_york, late) == date(2026, 11, 18)
    config = write_config(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    assert main(["recon", "--date", "today", "--config", str(config), "--venue", "equities",
                 "--statement", str(empty)]) == 0
    today = datetime.now(UTC).date().isoformat()  # the config's recon timezone is UTC
    assert (tmp_path / "state" / "recon" / today / "equities.breaks.csv").is_file()


def test_the_break_report_has_each_side_s_trade_time(tmp_path: Path) -> None:
    import csv

    config = write_config(tmp_path)
    statement = tmp_path / "crypto.csv"
    statement.write_text(HEADER + "trade,X1,BTC/USD,buy,1,60000,2026-11-20T15:00:00Z\n")
    assert main(["recon", "--date", "2026-11-20", "--config", str(config), "--venue", "crypto",
                 "--statement", str(statement)]) == 1
    with (tmp_path / "state" / "recon" / "2026-11-20" / "crypto.breaks.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    assert row["ref"] == "X1" and row["ours_at"] == ""
    assert datetime_of(row["theirs_at"]) == datetime_of("2026-11-20T15:00:00+00:00")


def datetime_of(text: str) -> object:
    from datetime import datetime

    return datetime.fromisoformat(text)
