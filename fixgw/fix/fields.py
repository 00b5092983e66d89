"""The field-list representation of a FIX message and `FieldView`, the one-pass accessor decoders read.

An inbound message is an ordered `list[tuple[int, str]]` of (tag, value) in wire order, header, body (with
repeating groups in place) and trailer, exactly what `fixgw.fix.wire.parse_fix` makes of the text QuickFIX hands over.
Encoders produce the same shape for a body, starting with (35, MsgType).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from fixgw.fix.tags import tag_name
from fixgw.model.enums import SessionRejectReason
from fixgw.model.errors import MessageRejected

Field = tuple[int, str]
Fields = list[Field]

class GroupLayout(NamedTuple):
    """A repeating group: the field that opens each entry and every tag an entry may hold (nested included)."""

    delimiter: int
    members: frozenset[int]


GROUPS: Final[dict[int, GroupLayout]] = {
    453: GroupLayout(448, frozenset({448, 447, 452, 802, 523, 803})),        # Parties (+ PartySubIDs)
    957: GroupLayout(958, frozenset({958, 959, 960})),                       # StrategyParameters
    382: GroupLayout(375, frozenset({375, 337, 437, 438, 655})),             # ContraBrokers
    386: GroupLayout(336, frozenset({336, 625})),                            # TradingSessions
    78: GroupLayout(79, frozenset({79, 661, 736, 467, 80, 539, 524, 525, 538, 804, 545, 805})),  # Allocs
    136: GroupLayout(137, frozenset({137, 138, 139, 891})),                  # MiscFees
}
"""Layouts of the repeating groups we read; `FieldView.group` needs one to know where a group ends."""


class FieldView:
    """Read access to one message, built once: the first value of each tag, and groups on demand.

    Building the view is a single C-level pass (`dict(reversed(fields))` keeps each tag's first value).
    """

    __slots__ = ("fields", "first")

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = fields
        self.first: dict[int, str] = dict(reversed(fields))

    @property
    def msg_type(self) -> str | None:
        return self.first.get(35)

    def get(self, tag: int) -> str | None:
        return self.first.get(tag)

    def __contains__(self, tag: object) -> bool:
        return tag in self.first

    def __getitem__(self, tag: int) -> str:
        return self.first[tag]

    def all(self, tag: int) -> list[str]:
        """Every value of `tag`, in wire order."""
        return [value for field_tag, value in self.fields if field_tag == tag]

    def group(self, count_tag: int, layout: GroupLayout | None = None, *, counterparty: str | None = None
              ) -> list[dict[int, str]]:
        """Entries of the repeating group counted by `count_tag` (first value per tag in each entry).

        A count that is not a number, an entry not starting with the delimiter, or a count that disagrees
        with the entries found is a session-level error (MessageRejected, RefTagID = `count_tag`).
        """
        if count_tag not in self.first:
            return []
        layout = layout or GROUPS[count_tag]
        fields = self.fields
        start = next(index for index, (tag, _) in enumerate(fields) if tag == count_tag)
        count_text = fields[start][1]
        if not count_text.isdigit():
            raise MessageRejected(
                f"{tag_name(count_tag)} is not a count: {count_text!r}", kind="session", ref_tag_id=count_tag,
                session_reason=SessionRejectReason.INCORRECT_DATA_FORMAT, counterparty=counterparty,
            )
        entries: list[dict[int, str]] = []
        delimiter, members = layout
        for tag, value in fields[start + 1:]:
            if tag == delimiter:
                entries.append({tag: value})
            elif tag in members and entries:
                entries[-1].setdefault(tag, value)
            elif tag in members:
                raise MessageRejected(
                    f"{tag_name(count_tag)}: entry does not start with {tag_name(delimiter)}", kind="session",
                    ref_tag_id=tag, session_reason=SessionRejectReason.OTHER, counterparty=counterparty,
                )
            else:
                break
        if len(entries) != int(count_text):
            raise MessageRejected(
                f"incorrect NumInGroup count: {tag_name(count_tag)}={count_text} but {len(entries)} entries",
                kind="session", ref_tag_id=count_tag, session_reason=SessionRejectReason.OTHER,
                counterparty=counterparty,
            )
        return entries
