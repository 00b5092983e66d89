"""Counterparty dialects: per-EMS / per-broker mapping tables kept as data in specs/dialects/*.toml.

A `Dialect` says which FIX versions a counterparty speaks, how it names instruments (a symbol scheme of the
symbol master, or SecurityID/SecurityIDSource), which tags and enum codes differ from the standard, which
custom tags pass through, how algorithmic orders travel, and what is required on decode / defaulted on encode.
`fixgw.fix.codec.Codec` compiles one into lookup tables. A value a dialect cannot map raises
`DialectMappingError`, naming the counterparty, the tag and the value.
"""

from __future__ import annotations

import tomllib
from enum import Enum
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fixgw.fix.tags import tag_name
from fixgw.fix.versions import BEGIN_STRINGS
from fixgw.model.enums import (
    CxlRejReason,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    SessionRejectReason,
    Side,
    TimeInForce,
)
from fixgw.model.errors import FixgwError, MessageRejected
from fixgw.model.instruments import SECURITY_ID_SOURCES

DIALECT_DIR: Final = Path(__file__).resolve().parents[2] / "specs" / "dialects"

ENUM_FIELDS: Final[dict[str, tuple[type[Enum], int]]] = {
    "side": (Side, 54),
    "ord_type": (OrdType, 40),
    "time_in_force": (TimeInForce, 59),
    "ord_status": (OrdStatus, 39),
    "exec_type": (ExecType, 150),
    "ord_rej_reason": (OrdRejReason, 103),
    "cxl_rej_reason": (CxlRejReason, 102),
}
"""Canonical enum fields a dialect may re-code: field name -> (enum, tag)."""

MOVABLE_TAGS: Final[dict[str, int]] = {"account": 1, "text": 58, "last_mkt": 30, "commission": 12, "expire_time": 126}
"""Canonical fields a dialect may carry in another tag, with their standard tags."""

MESSAGE_TYPES: Final = frozenset({"D", "F", "G", "H", "8", "9", "j", "3"})

AlgoParam = Literal["start_time", "end_time", "participation_rate"]
AlgoName = Literal["TWAP", "VWAP"]

DEFAULT_PARAMETER_NAMES: Final[dict[AlgoParam, str]] = {
    "start_time": "StartTime", "end_time": "EndTime", "participation_rate": "ParticipationRate"}


class DialectConfigError(FixgwError, ValueError):
    """A dialect file that cannot be read or does not validate."""


class DialectMappingError(MessageRejected):
    """A value the counterparty's dialect cannot map.

    Decoding (their value -> canonical) it is a session reject 373=5 on `tag`; encoding (canonical -> their
    value) it means we cannot express the order for them: an order-level refusal (Denied, nothing sent).
    """

    def __init__(self, counterparty: str, tag: int, value: str, *, inbound: bool, detail: str = "") -> None:
        direction = "no mapping for inbound" if inbound else "cannot encode"
        text = f"{counterparty}: {direction} {tag_name(tag)}={value!r}" + (f" ({detail})" if detail else "")
        if inbound:
            super().__init__(text, kind="session", ref_tag_id=tag,
                             session_reason=SessionRejectReason.VALUE_OUT_OF_RANGE, counterparty=counterparty)
        else:
            super().__init__(text, kind="order", ref_tag_id=tag, ord_rej_reason=OrdRejReason.BROKER_OPTION,
                             counterparty=counterparty)
        self.tag = tag
        self.value = value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SymbolConfig(_Frozen):
    """How the counterparty names instruments."""

    scheme: str = "canonical"
    """Key of the symbol master's `symbols` tables used in Symbol(55); "canonical" = the instrument id."""
    also_accept: tuple[str, ...] = ()
    """Further schemes tried, in order, when decoding Symbol(55) (e.g. suffix variants "BRK B" / "BRK.B")."""
    suffix_separator: str | None = None
    """When set, Symbol(55) + SymbolSfx(65) is the symbol joined by this separator, and split on encode."""
    security_id_source: str | None = None
    """When set (e.g. "4" ISIN, "1" CUSIP), instruments are identified by SecurityID(48) + SecurityIDSource(22)."""
    send_symbol: bool = True
    """With security ids: also send Symbol(55) (FIX 4.2 requires it)."""

    @field_validator("security_id_source")
    @classmethod
    def _known_source(cls, source: str | None) -> str | None:
        if source is not None and source not in SECURITY_ID_SOURCES:
            raise ValueError(f"unknown SecurityIDSource {source!r}; known: {sorted(SECURITY_ID_SOURCES)}")
        return source


class AlgoConfig(_Frozen):
    """How TWAP/VWAP orders travel: a strategy tag (TargetStrategy 847 or the broker's own) plus parameters."""

    strategy_tag: int = Field(default=847, gt=0)
    strategies: dict[AlgoName, str] = Field(min_length=1)
    """Canonical algo -> the counterparty's strategy value."""
    params: Literal["strategy_parameters", "tags"] = "strategy_parameters"
    """StrategyParameters group (957/958/959/960) or one tag per parameter."""
    parameter_names: dict[AlgoParam, str] = Field(default_factory=lambda: dict(DEFAULT_PARAMETER_NAMES))
    """StrategyParameterName(958) of each canonical parameter (params = "strategy_parameters")."""
    parameter_tags: dict[AlgoParam, int] = Field(default_factory=dict)
    """Tag of each canonical parameter (params = "tags"), e.g. 6401/6402 for start/end time."""

    @model_validator(mode="after")
    def _check(self) -> AlgoConfig:
        if self.params == "tags" and not self.parameter_tags:
            raise ValueError("algo params = 'tags' needs parameter_tags")
        if len(set(self.strategies.values())) != len(self.strategies):
            raise ValueError("two algos share one strategy value")
        return self


class Dialect(_Frozen):
    """One counterparty's way of speaking FIX, loaded from specs/dialects/<name>.toml."""

    name: str = Field(min_length=1)
    role: Literal["client", "broker"]
    """client: an EMS sending us orders; broker: a counterparty we send orders to."""
    description: str = ""
    begin_strings: tuple[str, ...] = Field(min_length=1)
    timestamp_precision: Literal[0, 3, 6] | None = None
    """Fraction digits of UTCTimestamps we send; default 3 (ms) for FIX 4.x and 6 (us) for 5.0 SP2."""
    symbols: SymbolConfig = SymbolConfig()
    tags: dict[str, int] = Field(default_factory=dict)
    """Canonical field -> tag, e.g. account = 5001 for a broker that wants the account in a custom tag."""
    enums: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    """Enum field -> canonical member name -> wire code (or codes: the first is sent, all are read)."""
    unsupported: dict[str, list[str]] = Field(default_factory=dict)
    """Enum field -> canonical member names this counterparty does not accept (encoding them is an error)."""
    passthrough: tuple[int, ...] = ()
    """Custom tags kept in NewOrder.custom_fields on decode; only these may be sent to this counterparty."""
    algo: AlgoConfig | None = None
    mass_status: bool = False
    """The broker answers OrderMassStatusRequest (35=AF, all orders): one request instead of one per order at logon."""
    required: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    """MsgType -> tags required on decode beyond the data dictionary's."""
    defaults: dict[str, dict[int, str]] = Field(default_factory=dict)
    account_data: bool = False
    """broker: it answers RequestForPositions (35=AN) and CollateralInquiry (35=BB) - FIX 4.4 and later."""
    """MsgType -> tag -> value added on encode when the message lacks the tag (e.g. HandlInst 21=1)."""
    market_data: bool = False
    """The broker answers MarketDataRequest (35=V) with 35=W / 35=X (fixgw/fix/marketdata.py, top of book)."""

    @field_validator("begin_strings")
    @classmethod
    def _known_versions(cls, begin_strings: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [value for value in begin_strings if value not in BEGIN_STRINGS]
        if unknown:
            raise ValueError(f"unsupported BeginString {unknown}; known: {sorted(BEGIN_STRINGS)}")
        return begin_strings

    @field_validator("tags")
    @classmethod
    def _movable(cls, tags: dict[str, int]) -> dict[str, int]:
        for field, tag in tags.items():
            if field not in MOVABLE_TAGS:
                raise ValueError(f"tag override for unknown field {field!r}; movable: {sorted(MOVABLE_TAGS)}")
            if tag <= 0:
                raise ValueError(f"tag override {field} = {tag} is not a tag number")
        return tags

    @field_validator("enums", "unsupported")
    @classmethod
    def _enum_members(cls, table: dict[str, dict[str, str | list[str]] | list[str]]
                      ) -> dict[str, dict[str, str | list[str]] | list[str]]:
        for field, entries in table.items():
            if field not in ENUM_FIELDS:
                raise ValueError(f"unknown enum field {field!r}; known: {sorted(ENUM_FIELDS)}")
            enum_type = ENUM_FIELDS[field][0]
            for member in entries:
                if member not in enum_type.__members__:
                    raise ValueError(f"{field}: {member!r} is not a {enum_type.__name__}")
            if isinstance(entries, dict):
                for member, codes in entries.items():
                    if not codes or any(not code for code in ([codes] if isinstance(codes, str) else codes)):
                        raise ValueError(f"{field}.{member}: empty wire code")
        return table

    @field_validator("required", "defaults")
    @classmethod
    def _message_types(cls, table: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(table) - MESSAGE_TYPES)
        if unknown:
            raise ValueError(f"unknown MsgType {unknown}; known: {sorted(MESSAGE_TYPES)}")
        return table

    @property
    def account_tag(self) -> int:
        return self.tags.get("account", MOVABLE_TAGS["account"])

    def tag_of(self, field: str) -> int:
        return self.tags.get(field, MOVABLE_TAGS[field])


def load_dialect(path: Path) -> Dialect:
    """Read and validate one dialect file; its `name` must match the file name."""
    try:
        dialect = Dialect.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise DialectConfigError(f"{path}: {exc}") from exc
    if dialect.name != path.stem:
        raise DialectConfigError(f"{path}: dialect name {dialect.name!r} does not match the file name")
    return dialect


def load_dialects(directory: Path = DIALECT_DIR) -> dict[str, Dialect]:
    """Every dialect in `directory`, by name."""
    return {path.stem: load_dialect(path) for path in sorted(directory.glob("*.toml"))}


def dialect_named(name: str, directory: Path = DIALECT_DIR) -> Dialect:
    path = directory / f"{name}.toml"
    if not path.is_file():
        raise DialectConfigError(f"no dialect {name!r} in {directory}")
    return load_dialect(path)
