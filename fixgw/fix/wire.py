"""FIX text: parse, render and frame. The one place that knows SOH, data fields, BodyLength and CheckSum.

Used by the QuickFIX glue (a message's `toString()` in, a sendable text out), the broker venue, the drop copy,
the journal readers and the compliance export. Faster than simplefix by ~10x on an ExecutionReport
(BENCHMARKS.md "FIX text"), which is why the hot path parses here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from fixgw.fix.fields import Field, Fields

SOH: Final = "\x01"

DATA_LENGTH_TAGS: Final[dict[int, int]] = {
    90: 91, 93: 89, 95: 96, 212: 213, 348: 349, 350: 351, 352: 353, 354: 355, 356: 357, 358: 359, 360: 361,
    362: 363, 364: 365, 445: 446, 618: 619, 621: 622,
}
"""Length-prefixed data fields (length tag -> data tag): their values may legally contain SOH."""

DATA_TAGS: Final = frozenset(DATA_LENGTH_TAGS.values())


def parse_fix(text: str, separator: str = SOH) -> Fields:
    """(tag, value) pairs of FIX text ("8=FIX.4.4<SOH>9=..<SOH>35=8<SOH>.."), in wire order; a data field (96,
    213, ...) keeps the separators its length says it holds. ValueError for a part that is not tag=value."""
    parts = text.split(separator)
    fields: Fields = []
    append = fields.append
    index, count = 0, len(parts)
    while index < count:
        part = parts[index]
        index += 1
        if not part:
            continue
        tag_text, equals, value = part.partition("=")
        if not equals or not tag_text.isdigit():
            raise ValueError(f"not a FIX field: {part!r}")
        tag = int(tag_text)
        append((tag, value))
        data_tag = DATA_LENGTH_TAGS.get(tag)
        if data_tag is not None and index < count and value.isdigit():
            index = _append_data_field(parts, index, int(value), data_tag, fields, separator)
    return fields


def _append_data_field(parts: list[str], index: int, length: int, data_tag: int, fields: Fields,
                       separator: str) -> int:
    """Re-join a data field whose value was split on an embedded separator; returns the next index."""
    tag_text, _, value = parts[index].partition("=")
    if tag_text != str(data_tag):
        return index
    index += 1
    while len(value) < length and index < len(parts):
        value = value + separator + parts[index]
        index += 1
    fields.append((data_tag, value))
    return index


def render_fix(fields: Sequence[Field], separator: str = "|") -> str:
    """The field list as text, each field followed by `separator` ("35=D|11=..|"): the journal's raw column
    (SOH), logs and test failure messages ("|")."""
    return "".join(f"{tag}={value}{separator}" for tag, value in fields)


def frame_fix(begin_string: str, fields: Sequence[Field]) -> str:
    """A complete message: 8, 9, `fields` in their order (35 first), 10 - BodyLength and CheckSum computed over
    the UTF-8 bytes. ValueError when a value other than a data field's holds SOH."""
    if any(SOH in value and tag not in DATA_TAGS for tag, value in fields):
        raise ValueError("a field value contains SOH")
    content = render_fix(fields, SOH).encode()
    head = f"8={begin_string}{SOH}9={len(content)}{SOH}".encode()
    checksum = (sum(head) + sum(content)) % 256
    return (head + content).decode() + f"10={checksum:03d}{SOH}"
