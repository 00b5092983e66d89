"""FIX versions we translate (4.2, 4.4, 5.0 SP2 over FIXT.1.1) and the body tags each one requires.

`REQUIRED` is copied from the data dictionaries in specs/fix (tests/unit/test_fix_translation.py checks it
against them); the Instrument and OrderQtyData components are checked by the decoders themselves.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class FixVersion(str, Enum):
    FIX42 = "FIX.4.2"
    FIX44 = "FIX.4.4"
    FIX50SP2 = "FIX.5.0SP2"

    @property
    def begin_string(self) -> str:
        return "FIXT.1.1" if self is FixVersion.FIX50SP2 else self.value


FIXT11: Final = "FIXT.1.1"
APPL_VER_ID_FIX50SP2: Final = "9"

_BY_BEGIN_STRING: Final[dict[str, FixVersion]] = {
    "FIX.4.2": FixVersion.FIX42,
    "FIX.4.4": FixVersion.FIX44,
    FIXT11: FixVersion.FIX50SP2,
}

BEGIN_STRINGS: Final = frozenset(_BY_BEGIN_STRING)


def version_of(begin_string: str) -> FixVersion:
    """The application version a session with this BeginString speaks (FIXT.1.1 means ApplVerID 9)."""
    try:
        return _BY_BEGIN_STRING[begin_string]
    except KeyError:
        raise ValueError(f"unsupported BeginString {begin_string!r}; expected one of {sorted(BEGIN_STRINGS)}"
                         ) from None


REQUIRED: Final[dict[FixVersion, dict[str, tuple[int, ...]]]] = {
    FixVersion.FIX42: {
        "D": (11, 21, 55, 54, 60, 40),
        "F": (41, 11, 55, 54, 60),
        "G": (41, 11, 21, 55, 54, 60, 40),
        "H": (11, 55, 54),
        "8": (37, 17, 20, 150, 39, 55, 54, 151, 14, 6),
        "9": (37, 11, 41, 39, 434),
        "j": (372, 380),
        "3": (45,),
    },
    FixVersion.FIX44: {
        "D": (11, 54, 60, 40),
        "F": (41, 11, 54, 60),
        "G": (41, 11, 54, 60, 40),
        "H": (11, 54),
        "8": (37, 17, 150, 39, 54, 151, 14, 6),
        "9": (37, 11, 41, 39, 434),
        "j": (372, 380),
        "3": (45,),
    },
    FixVersion.FIX50SP2: {
        "D": (11, 54, 60, 40),
        "F": (11, 54, 60),
        "G": (11, 54, 60, 40),
        "H": (54,),
        "8": (37, 17, 150, 39, 54, 151, 14),
        "9": (37, 11, 39, 434),
        "j": (372, 380),
        "3": (45,),
    },
}
"""Body tags the data dictionary marks required, per version and MsgType (Reject 3 of 5.0 SP2 is FIXT's)."""
