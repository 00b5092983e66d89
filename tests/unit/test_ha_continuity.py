"""Session continuity across HA nodes: what the sessions sent is recorded in PostgreSQL (passwords never), and a
takeover writes stores QuickFIX itself reads back - resend material, numbers past anything unrecorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import quickfix as qf
from test_ha_lease import journal, pg_url  # noqa: F401  (fixtures)

from fixgw.engine.continuity import SessionContinuity, SessionRecorder
from fixgw.store import Journal, JournalBatch, MessageRecord
from fixgw.store.sessionledger import SentMessage, SessionLedger

SOH = "\x01"
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def text(seq: int, msg_type: str = "8", *extra: str) -> str:
    return SOH.join(["8=FIX.4.4", "9=50", f"35={msg_type}", f"34={seq}", "49=FIXGW", "56=EMS-A", *extra,
                     "10=000"]) + SOH


def test_a_takeover_writes_a_store_quickfix_reads(journal: Journal, tmp_path: Path) -> None:  # noqa: F811
    ledger = SessionLedger(journal.engine)
    key = "acceptor:ems-a"
    ledger.record([
        SentMessage(key, 7, "8", NOW - timedelta(days=1), text(7)),        # yesterday: another FIX day
        SentMessage(key, 1, "A", NOW, ""),                                  # today's Logon (numbers only)
        SentMessage(key, 2, "8", NOW, text(2)),
        SentMessage(key, 3, "8", NOW, text(3, "8", "17=E3")),
        SentMessage(key, 4, "0", NOW, ""),                                  # a heartbeat
    ])
    journal.write(JournalBatch(messages=[MessageRecord("ems-a", "in", "D", text(9, "D"), NOW, seq_num=9)]))
    continuity = SessionContinuity(ledger, journal, sequence_gap=100)
    sid = qf.SessionID("FIX.4.4", "FIXGW", "EMS-A")
    (tmp_path / "stale.body").write_text("an earlier turn as active")
    continuity.rebuild(tmp_path, "acceptor", [("ems-a", sid)], NOW)
    assert not (tmp_path / "stale.body").exists()
    store = qf.FileStore(qf.UtcTimeStamp(), str(tmp_path), sid)
    assert store.getNextSenderMsgSeqNum() == 4 + 1 + 100  # past anything sent but not recorded
    assert store.getNextTargetMsgSeqNum() == 10           # the last journaled inbound + 1
    resend = qf.VectorString()
    store.get(1, 200, resend)
    assert list(resend) == [text(2), text(3, "8", "17=E3")]  # what a ResendRequest is answered with
    assert continuity.resumed == {key: (105, 10, 2)}


def test_a_session_with_no_history_today_starts_its_own_store(journal: Journal, tmp_path: Path) -> None:  # noqa: F811
    continuity = SessionContinuity(SessionLedger(journal.engine), journal, sequence_gap=100)
    continuity.rebuild(tmp_path, "initiator", [("equities", qf.SessionID("FIX.4.2", "FIXGW", "BROKER"))], NOW)
    assert list(tmp_path.iterdir()) == []


def test_the_recorder_keeps_no_password_and_no_resend_copy(journal: Journal) -> None:  # noqa: F811
    ledger = SessionLedger(journal.engine)
    recorder = SessionRecorder(ledger)
    recorder.start()
    try:
        recorder.outgoing("initiator", "equities", text(1, "A", "553=fixgw", "554=s3cret"))
        recorder.outgoing("initiator", "equities", text(2, "D", "11=C1"))
        recorder.outgoing("initiator", "equities", text(2, "D", "43=Y", "11=C1"))   # a resend of 2
        recorder.outgoing("initiator", "equities", text(3, "4", "43=Y", "123=Y"))   # a gap fill
        assert recorder.flush(10)
    finally:
        recorder.stop()
    point = ledger.resume_point("initiator:equities", NOW.replace(year=2000))
    assert point is not None and point.last_seq_num == 3
    assert point.messages == [(2, text(2, "D", "11=C1"))]
    raw = " ".join(row for _seq, row in point.messages)
    assert "s3cret" not in raw and recorder.recorded == 3
