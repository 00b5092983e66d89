"""Which journaled EMS reports to re-send after a restart: those QuickFIX never got.

Reports are journaled before they are handed to QuickFIX, and the 'handed through' mark is journaled a tick
later, so after a crash the journal holds reports past the mark that QuickFIX may or may not have stored. Its
FileStore says which: a session's store holds a prefix of what the router sent, so the reports missing there
are a suffix, and re-sending only those (before anything newer) never shows the EMS an older state of an order
after a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import quickfix as qf
import structlog

from fixgw.fix.fields import Fields
from fixgw.fix.wire import parse_fix

log = structlog.get_logger("fixgw.engine.replay")
ReportKey = tuple[str, ...]

HEADER_ENTRY_BYTES = 40
"""Upper bound of one FileStore header entry ("seq,offset,size ")."""
ADMIN_SLACK = 1_000
"""Stored messages read beyond the journaled reports in question (logons, heartbeats, resend requests)."""


def report_key(fields: Iterable[tuple[int, str]]) -> ReportKey:
    """An outbound report's identity, whatever the field order: its ExecID, else ClOrdID + TransactTime."""
    values = dict(fields)
    msg_type = values.get(35, "")
    if 17 in values:
        return (msg_type, values[17])
    return (msg_type, values.get(11, ""), values.get(60, ""))


def store_prefix(store_dir: Path, session_id: qf.SessionID) -> Path:
    """QuickFIX FileStore's file prefix for a session: <BeginString>-<Sender>-<Target>[-<Qualifier>]."""
    name = (f"{session_id.getBeginString().getValue()}-{session_id.getSenderCompID().getValue()}-"
            f"{session_id.getTargetCompID().getValue()}")
    qualifier = session_id.getSessionQualifier()
    return store_dir / (f"{name}-{qualifier}" if qualifier else name)


def stored_keys(prefix: Path, tail: int) -> set[ReportKey] | None:
    """Keys of the last `tail` messages in a FileStore (`.header`: "seq,offset,size " entries; `.body`: the
    messages); None when the store cannot be read (on another node's disk), empty when QuickFIX reset it."""
    try:
        with Path(f"{prefix}.header").open("rb") as header:
            header_end = header.seek(0, 2)
            from_byte = max(0, header_end - tail * HEADER_ENTRY_BYTES)  # the tail only: a day's store can be large
            header.seek(from_byte)
            entries = header.read().decode("ascii").split()[1 if from_byte else 0:][-tail:]  # 1st may be partial
        if not entries:
            return set()
        spans = [(int(offset), int(size)) for _seq, offset, size in (entry.split(",") for entry in entries)]
        with Path(f"{prefix}.body").open("rb") as body:
            start = spans[0][0]
            body.seek(start)
            data = body.read(spans[-1][0] + spans[-1][1] - start)
    except (OSError, ValueError) as exc:
        log.warning("replay.store_unreadable", store=str(prefix), error=repr(exc))
        return None
    return {report_key(parse_fix(data[offset - start:offset - start + size].decode("latin-1")))
            for offset, size in spans}


def reports_to_replay(journaled: list[Fields], stored: set[ReportKey] | None) -> list[Fields]:
    """The journaled reports QuickFIX never stored, in journal order (all of them when the store is unknown)."""
    if stored is None:
        return journaled
    return [fields for fields in journaled if report_key(fields) not in stored]
