"""`Codec`: one counterparty dialect compiled for one FIX version into the lookup tables decoders and encoders
use, plus the instrument lookups both directions share. Build one per session and reuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final, TypeVar, cast

from fixgw.fix.dialect import ENUM_FIELDS, AlgoParam, Dialect, DialectMappingError
from fixgw.fix.fields import Field
from fixgw.fix.values import missing_tag
from fixgw.fix.versions import REQUIRED, FixVersion, version_of
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
from fixgw.model.errors import MessageRejected, UnknownSymbolError
from fixgw.model.instruments import SECURITY_ID_SOURCES, Instrument, SymbolMaster

E = TypeVar("E", bound=Enum)

_WIRE_ORD_TYPES: Final = (OrdType.MARKET, OrdType.LIMIT, OrdType.STOP, OrdType.STOP_LIMIT)
_LOCAL_STATUSES: Final = (OrdStatus.DENIED, OrdStatus.UNKNOWN)
_FIX42_EXEC_TYPES_BY_TRANS_TYPE: Final = (ExecType.TRADE, ExecType.TRADE_CANCEL, ExecType.TRADE_CORRECT,
                                          ExecType.ORDER_STATUS)


_VALID_REASON_CODES: Final[dict[tuple[str, FixVersion], tuple[frozenset[str], str]]] = {
    ("ord_rej_reason", FixVersion.FIX42): (frozenset("012345678"), "0"),
    ("cxl_rej_reason", FixVersion.FIX42): (frozenset("0123"), "2"),
    ("ord_rej_reason", FixVersion.FIX44): (frozenset([*map(str, range(12)), "13", "14", "15", "99"]), "99"),
    ("cxl_rej_reason", FixVersion.FIX44): (frozenset(["0", "1", "2", "3", "4", "5", "6", "99"]), "99"),
}
"""Reason codes each version's data dictionary accepts (FIX 5.0 SP2 accepts all of ours)."""


def _standard(field: str, version: FixVersion) -> tuple[dict[str, Enum], dict[Enum, str]]:
    """The version's own codes for an enum field: (wire -> canonical, canonical -> wire)."""
    enum_type: type[Enum] = ENUM_FIELDS[field][0]
    members: list[Enum] = list(enum_type)
    if field == "ord_type":
        members = list(_WIRE_ORD_TYPES)
    elif field == "ord_status":
        members = [status for status in OrdStatus if status not in _LOCAL_STATUSES]
    elif field == "time_in_force" and version is FixVersion.FIX42:
        members = [tif for tif in TimeInForce if tif is not TimeInForce.CLS]
    elif field == "exec_type" and version is FixVersion.FIX42:
        # FIX 4.2 has PARTIAL_FILL/FILL (1/2) instead of TRADE, and ExecTransType(20) for busts and status.
        members = [kind for kind in ExecType if kind not in _FIX42_EXEC_TYPES_BY_TRANS_TYPE]
        inbound: dict[str, Enum] = {str(kind.value): kind for kind in members}
        inbound.update({"1": ExecType.TRADE, "2": ExecType.TRADE})
        return inbound, {kind: str(kind.value) for kind in members}
    inbound = {str(member.value): member for member in members}
    outbound: dict[Enum, str] = {member: str(member.value) for member in members}
    valid = _VALID_REASON_CODES.get((field, version))
    if valid is not None:
        # A reason newer than the counterparty's FIX version goes out as the version's catch-all code.
        codes, fallback = valid
        outbound = {member: code if code in codes else fallback for member, code in outbound.items()}
    if field == "ord_status":
        outbound.update({status: status.fix_code for status in _LOCAL_STATUSES})
    return inbound, outbound


class Codec:
    """Everything needed to translate for one counterparty at one FIX version (immutable after __init__)."""

    def __init__(self, dialect: Dialect, symbols: SymbolMaster, begin_string: str | None = None) -> None:
        begin_string = begin_string or dialect.begin_strings[0]
        if begin_string not in dialect.begin_strings:
            raise ValueError(f"dialect {dialect.name} does not speak {begin_string} "
                             f"(only {', '.join(dialect.begin_strings)})")
        self.dialect = dialect
        self.name = dialect.name
        self.symbols = symbols
        self.begin_string = begin_string
        self.version = version_of(begin_string)
        self.is_fix42 = self.version is FixVersion.FIX42
        precision = dialect.timestamp_precision
        self.precision: int = (6 if self.version is FixVersion.FIX50SP2 else 3) if precision is None else precision

        self.side_in, self.side_out = self._enum_tables("side", Side)
        self.ord_type_in, self.ord_type_out = self._enum_tables("ord_type", OrdType)
        self.tif_in, self.tif_out = self._enum_tables("time_in_force", TimeInForce)
        self.ord_status_in, self.ord_status_out = self._enum_tables("ord_status", OrdStatus)
        self.exec_type_in, self.exec_type_out = self._enum_tables("exec_type", ExecType)
        self.ord_rej_in, self.ord_rej_out = self._enum_tables("ord_rej_reason", OrdRejReason)
        self.cxl_rej_in, self.cxl_rej_out = self._enum_tables("cxl_rej_reason", CxlRejReason)

        algo = dialect.algo
        self.algo = algo
        self.strategy_tag = algo.strategy_tag if algo else 847
        self.strategy_in: dict[str, OrdType] = {code: OrdType(name) for name, code in algo.strategies.items()
                                                } if algo else {}
        self.strategy_out: dict[OrdType, str] = {OrdType(name): code for name, code in algo.strategies.items()
                                                 } if algo else {}
        self.algo_param_tags: dict[AlgoParam, int] = dict(algo.parameter_tags) if algo and algo.params == "tags" else {}
        self.algo_param_names: dict[AlgoParam, str] = dict(algo.parameter_names) if algo else {}
        self.algo_param_by_name: dict[str, AlgoParam] = {wire: param for param, wire in self.algo_param_names.items()}

        self.account_tag = dialect.tag_of("account")
        self.text_tag = dialect.tag_of("text")
        self.last_mkt_tag = dialect.tag_of("last_mkt")
        self.commission_tag = dialect.tag_of("commission")
        self.expire_time_tag = dialect.tag_of("expire_time")
        self.passthrough = frozenset(dialect.passthrough)
        self.required: dict[str, tuple[int, ...]] = {
            msg_type: tags + tuple(tag for tag in dialect.required.get(msg_type, ()) if tag not in tags)
            for msg_type, tags in REQUIRED[self.version].items()
        }
        defaults = {msg_type: dict(values) for msg_type, values in dialect.defaults.items()}
        if self.is_fix42:
            # HandlInst is required in FIX 4.2 orders: automated, no broker intervention unless the dialect says.
            for msg_type in ("D", "G"):
                defaults.setdefault(msg_type, {}).setdefault(21, "1")
        self.defaults: dict[str, tuple[Field, ...]] = {
            msg_type: tuple(values.items()) for msg_type, values in defaults.items()
        }
        symbol_config = dialect.symbols
        self.symbol_scheme = symbol_config.scheme
        self.symbol_schemes = (symbol_config.scheme, *symbol_config.also_accept)
        self.suffix_separator = symbol_config.suffix_separator
        self.id_source = symbol_config.security_id_source
        self.id_kind = SECURITY_ID_SOURCES[self.id_source] if self.id_source else None
        self.send_symbol = symbol_config.send_symbol

    def __repr__(self) -> str:
        return f"Codec({self.name!r}, {self.version.value})"

    def _enum_tables(self, field: str, enum_type: type[E]) -> tuple[dict[str, E], dict[E, str]]:
        """The version's standard codes for `field`, overlaid with the dialect's overrides and exclusions."""
        standard_in, standard_out = _standard(field, self.version)
        inbound = cast(dict[str, E], standard_in)
        outbound = cast(dict[E, str], standard_out)
        for name, codes in self.dialect.enums.get(field, {}).items():
            member = enum_type[name]
            wire = [codes] if isinstance(codes, str) else list(codes)
            inbound = {code: value for code, value in inbound.items() if value is not member}
            inbound.update(dict.fromkeys(wire, member))
            outbound[member] = wire[0]
        for name in self.dialect.unsupported.get(field, ()):
            member = enum_type[name]
            inbound = {code: value for code, value in inbound.items() if value is not member}
            outbound.pop(member, None)
        return inbound, outbound

    # --- enums -------------------------------------------------------------------------------------------

    def decode_enum(self, table: Mapping[str, E], tag: int, value: str) -> E:
        """Their code -> canonical member; DialectMappingError (373=5) naming the counterparty when unmapped."""
        member = table.get(value)
        if member is None:
            raise DialectMappingError(self.name, tag, value, inbound=True)
        return member

    def encode_enum(self, table: Mapping[E, str], tag: int, member: E) -> str:
        """Canonical member -> their code; DialectMappingError (order refused) when they have none."""
        code = table.get(member)
        if code is None:
            raise DialectMappingError(self.name, tag, member.name, inbound=False,
                                      detail=f"{self.name} has no code for {type(member).__name__}.{member.name}")
        return code

    # --- required tags -----------------------------------------------------------------------------------

    def check_required(self, first: Mapping[int, str], msg_type: str) -> None:
        """Every tag the data dictionary (and the dialect) requires is present and not empty."""
        for tag in self.required[msg_type]:
            if not first.get(tag):
                if tag in first:
                    raise MessageRejected(
                        f"Tag specified without a value: {tag}", kind="session", ref_tag_id=tag,
                        ref_msg_type=msg_type, session_reason=SessionRejectReason.TAG_WITHOUT_VALUE,
                        counterparty=self.name,
                    )
                raise missing_tag(tag, msg_type, self.name)

    # --- instruments -------------------------------------------------------------------------------------

    def resolve_instrument(self, first: Mapping[int, str], msg_type: str) -> Instrument:
        """The instrument an inbound message names, by Symbol(55)[+SymbolSfx(65)] or SecurityID(48)/(22)."""
        if self.id_source is None:
            symbol = first.get(55)
            if symbol:
                suffix = first.get(65)
                if suffix and self.suffix_separator is not None:
                    symbol = f"{symbol}{self.suffix_separator}{suffix}"
                return self._resolve_symbol(symbol)
            security_id, source = first.get(48), first.get(22)
            if security_id and source:
                return self.symbols.resolve_security_id(source, security_id, counterparty=self.name)
            raise missing_tag(55, msg_type, self.name)
        security_id = first.get(48)
        if not security_id:
            raise missing_tag(48, msg_type, self.name)
        return self.symbols.resolve_security_id(first.get(22) or self.id_source, security_id,
                                                counterparty=self.name)

    def _resolve_symbol(self, symbol: str) -> Instrument:
        symbols = self.symbols
        for scheme in self.symbol_schemes:
            try:
                return symbols.resolve(scheme, symbol, counterparty=self.name)
            except UnknownSymbolError:
                continue
        raise UnknownSymbolError(self.symbol_scheme, symbol, counterparty=self.name)

    def has_instrument(self, first: Mapping[int, str]) -> bool:
        return bool(first.get(55) or first.get(48))

    def instrument_fields(self, instrument: Instrument | str) -> list[Field]:
        """Symbol(55)[/SymbolSfx(65)] or SecurityID(48)+SecurityIDSource(22) naming the instrument for them."""
        if isinstance(instrument, str):
            instrument = self.symbols.get(instrument)
        if self.id_kind is None:
            return self._symbol_fields(instrument)
        security_id = instrument.security_ids.get(self.id_kind)
        if security_id is None:
            raise DialectMappingError(self.name, 48, instrument.id, inbound=False,
                                      detail=f"the symbol master has no {self.id_kind} for it")
        fields = self._symbol_fields(instrument) if self.send_symbol else []
        fields += [(48, security_id), (22, self.id_source or "")]
        return fields

    def _symbol_fields(self, instrument: Instrument) -> list[Field]:
        symbol = instrument.symbol_for(self.symbol_scheme)
        separator = self.suffix_separator
        if separator and separator in symbol:
            root, _, suffix = symbol.partition(separator)
            return [(55, root), (65, suffix)]
        return [(55, symbol)]
