"""Which journaled EMS reports a restart re-sends: those missing from QuickFIX's FileStore (fixgw/engine/replay.py)."""

from __future__ import annotations

from pathlib import Path

import quickfix as qf

from fixgw.engine.replay import report_key, reports_to_replay, store_prefix, stored_keys

SOH = "\x01"


def er(exec_id: str, status: str) -> list[tuple[int, str]]:
    return [(35, "8"), (37, "1-1"), (11, "C1"), (17, exec_id), (150, status), (39, status), (60, "20310314-15:09:26")]


def write_store(prefix: Path, messages: list[list[tuple[int, str]]]) -> None:
    """A FileStore as QuickFIX writes it: bodies back to back, "seq,offset,size " per message in the header."""
    body, header, offset = b"", [], 0
    for seq, fields in enumerate(messages, start=1):
        # QuickFIX stores the full message with its header, body fields in tag order.
        text = SOH.join(f"{tag}={value}" for tag, value in [(8, "FIX.4.4"), (34, str(seq)), *sorted(fields)]) + SOH
        data = text.encode("latin-1")
        header.append(f"{seq},{offset},{len(data)} ")
        body += data
        offset += len(data)
    Path(f"{prefix}.body").write_bytes(body)
    Path(f"{prefix}.header").write_text("".join(header), encoding="ascii")


def test_only_the_reports_quickfix_never_stored_are_replayed(tmp_path: Path) -> None:
    prefix = store_prefix(tmp_path, qf.SessionID("FIX.4.4", "FIXGW", "EMS-A"))
    assert prefix.name == "FIX.4.4-FIXGW-EMS-A"
    journaled = [er("X1", "0"), er("X2", "1"), er("X3", "2")]
    write_store(prefix, [[(35, "A"), (98, "0")], *journaled[:2]])   # the crash came before X3 was handed over
    stored = stored_keys(prefix, tail=10)
    assert stored is not None and report_key(journaled[0]) in stored
    assert reports_to_replay(journaled, stored) == [journaled[2]]


def test_the_store_is_read_from_its_tail(tmp_path: Path) -> None:
    prefix = store_prefix(tmp_path, qf.SessionID("FIX.4.4", "FIXGW", "EMS-A"))
    write_store(prefix, [er(f"X{index}", "0") for index in range(500)])
    stored = stored_keys(prefix, tail=3)
    assert stored is not None and report_key(er("X499", "0")) in stored and report_key(er("X0", "0")) not in stored


def test_an_unreadable_store_replays_everything(tmp_path: Path) -> None:
    journaled = [er("X1", "0")]
    stored = stored_keys(tmp_path / "missing", tail=10)
    assert stored is None and reports_to_replay(journaled, stored) == journaled
