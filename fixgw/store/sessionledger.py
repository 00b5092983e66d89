"""What the FIX sessions sent, with their sequence numbers, in `ha_session_out`: the material another node needs to
resume a session (its next MsgSeqNum) and answer a ResendRequest (the application messages' text).

Session-level messages (Logon, Heartbeat, ResendRequest, ...) are kept as numbers only: a resend answers them
with a gap fill anyway, and a Logon may carry a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select

from fixgw.store import schema
from fixgw.store.database import write_transaction
from fixgw.store.journal import _typed_errors


@dataclass(slots=True)
class SentMessage:
    session: str
    seq_num: int
    msg_type: str
    at: datetime
    raw: str
    """The message as sent; empty for session-level messages."""


@dataclass(slots=True)
class ResumePoint:
    last_seq_num: int
    """The highest MsgSeqNum recorded since the session's sequence last started at 1."""
    messages: list[tuple[int, str]]
    """(MsgSeqNum, text) of the application messages since then, oldest first (as first sent)."""


class SessionLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, sent: list[SentMessage]) -> None:
        """One transaction (fenced like every journal write under HA)."""
        if not sent:
            return
        with _typed_errors("record sent messages"), write_transaction(self.engine) as connection:
            connection.execute(schema.ha_session_out.insert(), [
                {"session": m.session, "seq_num": m.seq_num, "msg_type": m.msg_type, "at": m.at, "raw": m.raw}
                for m in sent])

    def purge_before(self, at: datetime) -> int:
        """Forget what was sent before `at` (a session resumes from the current FIX day only); rows deleted."""
        out = schema.ha_session_out
        with _typed_errors("purge sent messages"), write_transaction(self.engine) as connection:
            return int(connection.execute(delete(out).where(out.c.at < at)).rowcount)

    def resume_point(self, session: str, since: datetime) -> ResumePoint | None:
        """Where `session` stands: from its last Logon with MsgSeqNum 1 at or after `since` (the FIX day's start),
        or from `since` when there is none. None: nothing recorded."""
        out = schema.ha_session_out
        mine = [out.c.session == session, out.c.at >= since]
        with _typed_errors("resume point"), self.engine.connect() as connection:
            first = connection.execute(select(func.max(out.c.id)).where(
                *mine, out.c.seq_num == 1, out.c.msg_type == "A")).scalar_one_or_none()
            if first is not None:
                mine.append(out.c.id >= first)
            last = connection.execute(select(func.max(out.c.seq_num)).where(*mine)).scalar_one_or_none()
            if last is None:
                return None
            bodies: dict[int, str] = {}
            for seq_num, raw in connection.execute(
                    select(out.c.seq_num, out.c.raw).where(*mine, out.c.raw != "").order_by(out.c.id)):
                bodies.setdefault(int(seq_num), raw)  # the original, not a PossDup copy of it
        return ResumePoint(int(last), sorted(bodies.items()))
