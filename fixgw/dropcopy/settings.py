"""The `[dropcopy.<name>]` sections (one drop-copy acceptor session each) and the `[retention]` section."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QuickfixValue = str | int | bool


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DropCopySessionConfig(_Section):
    """A compliance client that receives a copy of every ExecutionReport fixgw receives or sends.

    Drop-copy sessions have an acceptor of their own (not the EMS acceptor): sessions sharing a host and port
    share its socket. Their sequence numbers and stored messages live in their own FileStore.
    """

    begin_string: Literal["FIX.4.4", "FIXT.1.1"] = "FIX.4.4"
    """CopyMsgIndicator(797) exists from FIX 4.4 on."""
    sender_comp_id: str = "FIXGW"
    target_comp_id: str
    host: str = "127.0.0.1"
    port: int = Field(default=9879, ge=1, le=65535)
    accounts: list[str] = Field(default_factory=list)
    """Only copies of these accounts; empty: every account (and reports that belong to no account)."""
    venues: list[str] = Field(default_factory=list)
    """Only copies of orders routed to these venues (broker or REST venue names); empty: all."""
    watch: bool = False
    """Alert (`session_down`) when this client is not logged on; off by default (clients log off for the night)."""
    replay_on_reset: bool = True
    """A Logon with ResetSeqNumFlag(141)=Y gets today's copies (UTC day) replayed from the journal."""
    quickfix: dict[str, QuickfixValue] = Field(default_factory=dict)
    """Any QuickFIX session setting (HeartBtInt, StartTime, ...), passed through. ResetOnLogon would discard
    the copies stored while the client was away: leave it off."""


class RetentionConfig(_Section):
    days: int | None = Field(default=None, ge=1)
    """Keep this many whole UTC days before today; `fixgw audit purge` deletes older days, but only days
    reconciliation marked clean (journal state `recon:<YYYY-MM-DD>` = "clean"). None: keep everything."""
