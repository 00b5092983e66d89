"""Secrets never leak: a full flow with known fake credentials, then every log, the journal and every file the
gateway wrote (QuickFIX stores, the journal database and its WAL, the drop-copy archive kept there) and the
compliance exports (`fixgw audit export`, every format) are scanned for them.

Credentials in play: EMS passwords (553/554 on Logon; their Argon2 hashes come from env: references), the
gateway's broker password (a file: reference), a wrong password and an unknown CompID's password, and a
password an EMS put into an application message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import structlog
from gateway_stack import cancel, new_order, report, status
from secure_stack import PASSWORDS, USERNAMES, attempt_logon, password_hash, secure_stack, set_hash_env

from fixgw.cli import main
from fixgw.logs import configure_logging
from fixgw.store.journal import Journal

BROKER_PASSWORD = "brk-pw-Secret-9Vx"
WRONG_PASSWORD = "wrong-pw-Kk55"
UNKNOWN_PASSWORD = "unknown-pw-Jj44"
APP_PASSWORD = "app-pw-Ww22"


@pytest.fixture
def log_stream() -> StringIO:
    """structlog (and stdlib logging) at DEBUG as JSON lines into a buffer; the previous setup restored after."""
    previous = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = StringIO()
    configure_logging("DEBUG", "json", stream)
    yield stream
    structlog.configure(**previous)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_no_secret_in_logs_journal_or_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: StringIO,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    set_hash_env(monkeypatch)
    secret_file = tmp_path / "secrets" / "broker.pw"
    secret_file.parent.mkdir()
    secret_file.write_text(BROKER_PASSWORD + "\n")
    broker = {"username": "fixgw", "password": f"file:{secret_file}"}
    # DEBUG: QuickFIX messages are logged too (masked) - the most there is to leak.
    broker_log = tmp_path / "broker-log"  # the simulator's own FileLog: proof our password reached the broker
    with secure_stack(tmp_path, broker=broker, extra={"log": {"level": "DEBUG"}},
                      sim_options={"log_dir": broker_log}) as stack:
        a, b = stack.ems("ems-a"), stack.ems("ems-b")
        a.send(new_order("S1", qty="200"))
        report(a, "S1", status("2"))
        stack.broker.auto_fill = False
        b.send(new_order("S2", handl_inst=True))
        report(b, "S2", status("0"))
        b.send(cancel("S2-X", "S2"))
        report(b, "S2-X", status("4"))
        a.send(new_order("S3", extra=[(554, APP_PASSWORD)]))  # an EMS that puts a password where it should not
        report(a, "S3", status("0"))
        attempt_logon(stack.acceptor_port, "EMS-X", username=USERNAMES["ems-x"], password=WRONG_PASSWORD)
        attempt_logon(stack.acceptor_port, "EMS-GHOST", username="ghost", password=UNKNOWN_PASSWORD,
                      expect_logout=False)
        assert stack.wait(lambda: stack.gateway.security.refusals["unknown_comp_id"] >= 1)
        journal_url = stack.config.journal_url
        state_dir = stack.config.state_dir
    assert any(BROKER_PASSWORD in path.read_text(errors="replace") for path in broker_log.rglob("*.log"))
    secrets = [*PASSWORDS.values(), BROKER_PASSWORD, WRONG_PASSWORD, UNKNOWN_PASSWORD, APP_PASSWORD,
               *(password_hash(name) for name in PASSWORDS)]
    logs = log_stream.getvalue()
    captured = capfd.readouterr()
    assert "security.logon_refused" in logs and "quickfix.message" in logs  # the scan reads real output
    files = {path: path.read_bytes() for path in state_dir.rglob("*") if path.is_file()}
    assert any(b"S3" in data for data in files.values())  # ... and real files: the journal holds S3
    journal = Journal(journal_url)
    journal.open()
    try:
        raw_messages = [record.raw for record in journal.iter_messages()]
    finally:
        journal.close()
    assert any("\x01554=***\x01" in raw for raw in raw_messages)  # S3's 554 was masked before journaling
    day = datetime.now(UTC).date().isoformat()
    exports = {}
    for output_format in ("csv", "jsonl", "fix"):  # the compliance exports read the journal's archive
        out = tmp_path / f"export.{output_format}"
        assert main(["audit", "export", "--journal", journal_url, "--from", day, "--to", day,
                     "--format", output_format, "-o", str(out)]) == 0
        exports[out] = out.read_text(errors="replace")
    assert all("S3" in text for text in exports.values())
    for secret in secrets:
        assert secret not in logs, f"{secret!r} in the structured log"
        assert secret not in captured.out and secret not in captured.err, f"{secret!r} on stdout/stderr"
        assert not any(secret in raw for raw in raw_messages), f"{secret!r} in the journal's messages"
        for path, data in files.items():
            assert secret.encode() not in data, f"{secret!r} in {path}"
        for path, text in exports.items():
            assert secret not in text, f"{secret!r} in the export {path.name}"
