"""The runner's drop-copy hook: what it sees of a pass, and when (implemented by fixgw.dropcopy.feed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fixgw.router.effects import Effects
from fixgw.store.records import MessageRecord

Reply = tuple[str, list[tuple[int, str]], str | None]
"""(EMS session, fields, order id) of a reply the EMS session's translator built (session reject, refusal ER)."""


class PassCopies(Protocol):
    """One router pass. Called on the router thread; must never raise (the pass is not journaled yet)."""

    def after_item(self, kind: str, args: tuple[Any, ...], fx: Effects, replies: Sequence[Reply]) -> None:
        """After each work item: the reports it received (venue items) and produced (new `fx.to_ems`, replies)."""

    def records(self, fx: Effects, messages: list[MessageRecord]) -> list[MessageRecord]:
        """Before the journal commit: the copy rows to journal with the pass (and order ids on raw messages)."""

    def send(self) -> None:
        """After the commit and the pass's sends: hand the copies to the drop-copy sessions."""


class CopyHook(Protocol):
    def pass_copies(self) -> PassCopies: ...
