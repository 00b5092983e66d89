"""Dialects and the symbol master: every shipped file loads, overrides apply, mapping errors name the
counterparty, tag and value, and symbol schemes resolve both ways."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode
from fixgw.fix.dialect import DIALECT_DIR, DialectConfigError, DialectMappingError, load_dialect, load_dialects
from fixgw.fix.encode import encode
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.wire import parse_fix
from fixgw.model.enums import AssetClass, ExecType, OrdType, Side, TimeInForce
from fixgw.model.errors import MessageRejected, UnknownSymbolError
from fixgw.model.orders import AlgoParams, ExecutionEvent, NewOrder, ReplaceOrder

SHIPPED = {"ems-default", "generic-broker", "equities-broker-42", "fixed-income-broker"}
WHEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
H44 = "8=FIX.4.4|9=0|34=2|49=PEER|52=20240102-14:30:00.000|56=FIXGW|"
H42 = "8=FIX.4.2|9=0|34=2|49=PEER|52=20240102-14:30:00.000|56=FIXGW|"


@cache
def codec(name: str, begin: str | None = None) -> Codec:
    return Codec(load_dialects()[name], load_symbol_master(), begin)


def order(**changes: object) -> NewOrder:
    values: dict[str, object] = {"cl_ord_id": "GW-1", "instrument_id": "AAPL", "side": Side.BUY,
                                 "order_qty": Decimal(100), "ord_type": OrdType.LIMIT, "price": Decimal("187.43"),
                                 "transact_time": WHEN}
    values.update(changes)
    return NewOrder.model_validate(values)


def wire(header: str, body: str) -> list[tuple[int, str]]:
    return parse_fix(header + body + "10=000|", "|")


# --- loading -------------------------------------------------------------------------------------------------


def test_every_shipped_dialect_loads_and_compiles_for_each_version() -> None:
    dialects = load_dialects()
    assert set(dialects) >= SHIPPED
    for name, dialect in dialects.items():
        assert dialect.name == name and dialect.description
        for begin in dialect.begin_strings:
            assert codec(name, begin).version.begin_string == begin
    assert set(dialects["ems-default"].begin_strings) == {"FIX.4.2", "FIX.4.4", "FIXT.1.1"}
    assert dialects["ems-default"].role == "client"
    assert {dialects[name].role for name in SHIPPED - {"ems-default"}} == {"broker"}


def test_dialect_is_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        load_dialects()["generic-broker"].name = "other"  # type: ignore[misc]


def test_codec_refuses_a_version_the_dialect_does_not_speak() -> None:
    with pytest.raises(ValueError, match=r"equities-broker-42 does not speak FIX\.4\.4"):
        Codec(load_dialects()["equities-broker-42"], load_symbol_master(), "FIX.4.4")


BASE = 'name = "{name}"\nrole = "broker"\nbegin_strings = ["FIX.4.4"]\n'


@pytest.mark.parametrize(("extra", "message"), [
    ("colour = 'blue'\n", "Extra inputs are not permitted"),
    ("[tags]\nacount = 5001\n", "tag override for unknown field 'acount'"),
    ("[enums.time_in_force]\nGOOD_TILL_MARS = 'M'\n", "'GOOD_TILL_MARS' is not a TimeInForce"),
    ("[enums.colour]\nRED = '1'\n", "unknown enum field 'colour'"),
    ("[unsupported]\nord_type = ['ICEBERG']\n", "'ICEBERG' is not a OrdType"),
    ("[defaults.Z]\n21 = '1'\n", "unknown MsgType"),
    ("[algo]\nstrategies = { TWAP = '1' }\nparams = 'tags'\n", "needs parameter_tags"),
    ("[algo]\nstrategies = { TWAP = '1', VWAP = '1' }\n", "share one strategy value"),
    ("[symbols]\nsecurity_id_source = 'Q'\n", "unknown SecurityIDSource"),
])
def test_invalid_dialect_files_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BASE.format(name="broken") + extra)
    with pytest.raises(DialectConfigError, match=message):
        load_dialect(path)


def test_dialect_name_must_match_file_and_version_must_be_known(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(BASE.format(name="two"))
    with pytest.raises(DialectConfigError, match="does not match the file name"):
        load_dialect(path)
    path.write_text(BASE.format(name="one").replace("FIX.4.4", "FIX.4.3"))
    with pytest.raises(DialectConfigError, match="unsupported BeginString"):
        load_dialect(path)


def test_shipped_dialects_live_in_specs() -> None:
    assert Path(__file__).resolve().parents[2] / "specs" / "dialects" == DIALECT_DIR


# --- overrides -----------------------------------------------------------------------------------------------


def test_account_tag_override() -> None:
    sent = encode(order(account="ACC-7"), codec("equities-broker-42"))
    assert (5001, "ACC-7") in sent and 1 not in dict(sent)
    report = decode(wire(H42, "35=8|6=0|14=0|17=E|20=0|37=O|39=0|54=1|55=AAPL|150=0|151=100|5001=ACC-7|1=IGNORED|"),
                    codec("equities-broker-42"))
    assert isinstance(report, ExecutionEvent) and report.account == "ACC-7"


def test_enum_override_extends_and_exclusions_refuse() -> None:
    fix42 = codec("equities-broker-42")
    assert (59, "7") in encode(order(time_in_force=TimeInForce.CLS), fix42)
    with pytest.raises(DialectMappingError) as caught:
        encode(order(time_in_force=TimeInForce.CLS), codec("ems-default", "FIX.4.2"))
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("ems-default", 59, "CLS")
    with pytest.raises(DialectMappingError) as caught:
        encode(order(ord_type=OrdType.STOP, price=None, stop_price=Decimal("180")), fix42)
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("equities-broker-42", 40, "STOP")
    assert caught.value.kind == "order" and "equities-broker-42" in caught.value.text
    gtd = order(time_in_force=TimeInForce.GTD, expire_time=WHEN)
    with pytest.raises(DialectMappingError, match="generic-broker: cannot encode TimeInForce\\(59\\)='GTD'"):
        encode(gtd, codec("generic-broker"))


def test_inbound_enum_aliases() -> None:
    broker = codec("generic-broker")
    for code in ("F", "1", "2"):
        report = decode(wire(H44, f"35=8|6=1|11=GW-1|14=1|17=E|31=1|32=1|37=O|39=1|54=1|55=AAPL|150={code}|151=9|"),
                        broker)
        assert isinstance(report, ExecutionEvent) and report.exec_type is ExecType.TRADE
    assert (150, "F") in encode(report, broker)


def test_defaults_added_on_encode_and_not_duplicated() -> None:
    assert [field for field in encode(order(), codec("generic-broker")) if field[0] == 21] == [(21, "1")]
    assert 21 not in dict(encode(order(), codec("ems-default", "FIX.4.4")))
    replace = ReplaceOrder(cl_ord_id="GW-1.r", orig_cl_ord_id="GW-1", instrument_id="AAPL", side=Side.BUY,
                           order_qty=Decimal(5), ord_type=OrdType.MARKET, transact_time=WHEN)
    assert (21, "1") in encode(replace, codec("equities-broker-42"))


def test_dialect_required_fields() -> None:
    report = "35=8|6=0|14=0|17=E|22=4|37=O|39=0|48=US0378331005|54=1|55=AAPL|150=0|151=100|"
    assert isinstance(decode(wire(H44, report), codec("fixed-income-broker")), ExecutionEvent)
    with pytest.raises(MessageRejected) as caught:
        decode(wire(H44, report), codec("generic-broker"))
    assert (caught.value.kind, caught.value.ref_tag_id, caught.value.counterparty) == ("session", 11, "generic-broker")


def test_custom_tags_pass_through_only_where_listed() -> None:
    inbound = decode(wire(H44, "35=D|11=ORD-1|38=10|40=1|54=1|55=AAPL|60=20240102-14:30:00.000|8002=X|8001=DESK7|"
                               "9999=dropped|"), codec("ems-default"))
    assert isinstance(inbound, NewOrder) and inbound.custom_fields == ((8002, "X"), (8001, "DESK7"))
    forwarded = order(custom_fields=((8001, "DESK7"),))
    assert (8001, "DESK7") in encode(forwarded, codec("equities-broker-42"))
    with pytest.raises(DialectMappingError) as caught:
        encode(inbound, codec("equities-broker-42"))
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("equities-broker-42", 8002, "X")


# --- algos ---------------------------------------------------------------------------------------------------


TWAP = dict(ord_type=OrdType.TWAP, price=None,
            algo=AlgoParams(start_time=WHEN, end_time=datetime(2024, 1, 2, 20, 0, tzinfo=UTC),
                            participation_rate=Decimal("0.25")))


def test_algo_as_strategy_parameters_group() -> None:
    sent = encode(order(**TWAP), codec("ems-default", "FIXT.1.1"))
    assert (40, "1") in sent and (847, "1001") in sent
    start = sent.index((957, "3"))
    assert sent[start + 1:start + 10] == [
        (958, "StartTime"), (959, "19"), (960, "20240102-14:30:00.000000"),
        (958, "EndTime"), (959, "19"), (960, "20240102-20:00:00.000000"),
        (958, "MaxPctVolume"), (959, "11"), (960, "0.25")]


def test_algo_as_broker_tags() -> None:
    sent = dict(encode(order(**TWAP), codec("equities-broker-42")))
    assert (sent[40], sent[6400], sent[6401], sent[6402], sent[6403]) == (
        "1", "TWAP", "20240102-14:30:00.000", "20240102-20:00:00.000", "0.25")
    assert 847 not in sent and 957 not in sent


def test_algo_unmappable_for_counterparty() -> None:
    with pytest.raises(DialectMappingError) as caught:
        encode(order(**TWAP), codec("fixed-income-broker"))
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("fixed-income-broker", 847, "TWAP")
    named = order(ord_type=OrdType.VWAP, algo=AlgoParams(strategy_parameters=(("Urgency", "HIGH"),)))
    assert (960, "HIGH") in encode(named, codec("generic-broker"))
    with pytest.raises(DialectMappingError) as caught:
        encode(named, codec("equities-broker-42"))
    assert (caught.value.tag, caught.value.value) == (958, "Urgency")


def test_unknown_strategy_parameters_are_kept_by_name() -> None:
    message = wire(H44, "35=D|11=ORD-1|38=10|40=2|44=187.43|54=1|55=AAPL|60=20240102-14:30:00.000|847=1|"
                        "957=2|958=Urgency|959=14|960=HIGH|958=MaxPctVolume|959=11|960=0.1|")
    inbound = decode(message, codec("ems-default"))
    assert isinstance(inbound, NewOrder) and inbound.algo is not None
    assert inbound.algo.strategy_parameters == (("Urgency", "HIGH"),)
    assert inbound.algo.participation_rate == Decimal("0.1") and inbound.ord_type is OrdType.VWAP


# --- symbol schemes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["55=BRK.B|", "55=BRK B|"])
def test_client_symbol_variants_resolve(symbol: str) -> None:
    inbound = decode(wire(H44, f"35=D|11=ORD-1|38=10|40=1|54=1|{symbol}60=20240102-14:30:00.000|"),
                     codec("ems-default"))
    assert isinstance(inbound, NewOrder) and inbound.instrument_id == "BRK.B"


def test_symbol_suffix_tag_joins() -> None:
    report = decode(wire(H42, "35=8|6=0|14=0|17=E|20=0|37=O|39=0|54=1|55=BRK|65=B|150=0|151=1|"),
                    codec("equities-broker-42"))
    assert isinstance(report, ExecutionEvent) and report.instrument_id == "BRK.B"


@pytest.mark.parametrize(("dialect", "expected"), [
    ("ems-default", [(55, "BRK.B")]),
    ("generic-broker", [(55, "BRK B")]),
    ("equities-broker-42", [(55, "BRK"), (65, "B")]),
    ("fixed-income-broker", [(48, "US0846707026"), (22, "4")]),
])
def test_symbol_scheme_on_encode(dialect: str, expected: list[tuple[int, str]]) -> None:
    sent = encode(order(instrument_id="BRK.B", price=Decimal("412.5")), codec(dialect))
    assert [field for field in sent if field[0] in (55, 65, 48, 22)] == expected


def test_security_id_scheme() -> None:
    fixed_income = codec("fixed-income-broker")
    by_cusip = decode(wire(H44, "35=8|6=0|14=0|17=E|22=1|37=O|39=0|48=912810TV0|54=1|150=0|151=1000|"), fixed_income)
    assert isinstance(by_cusip, ExecutionEvent) and by_cusip.instrument_id == "US912810TV08"
    with pytest.raises(DialectMappingError) as caught:
        encode(order(instrument_id="BTC/USD", price=Decimal("64000")), fixed_income)
    assert (caught.value.counterparty, caught.value.tag, caught.value.value) == ("fixed-income-broker", 48, "BTC/USD")
    bond = decode(wire(H44, "35=D|11=ORD-1|22=4|38=1000000|40=2|44=99.5|48=US91282CJL63|54=1|"
                            "60=20240102-14:30:00.000|"), codec("ems-default"))
    assert isinstance(bond, NewOrder) and bond.instrument_id == "US91282CJL63"


def test_unknown_symbol_names_counterparty() -> None:
    with pytest.raises(UnknownSymbolError) as caught:
        decode(wire(H44, "35=8|6=0|11=G|14=0|17=E|37=O|39=0|54=1|55=ZZZZ|150=0|151=1|"), codec("generic-broker"))
    assert (caught.value.counterparty, caught.value.symbol, caught.value.scheme) == ("generic-broker", "ZZZZ", "cms")


# --- the symbol master file ----------------------------------------------------------------------------------


def test_symbol_master_contents() -> None:
    symbols = load_symbol_master()
    assert symbols.get("SPY").asset_class is AssetClass.ETF
    assert symbols.resolve("cms", "BRK B").id == symbols.resolve("canonical", "BRK.B").id == "BRK.B"
    for venue, symbol in [("coinbase_prime", "BTC-USD"), ("kraken", "XBT/USD"), ("falconx", "BTC/USD")]:
        assert symbols.resolve(venue, symbol).id == "BTC/USD"
    assert symbols.resolve("binance", "BTCUSDT").id == "BTC/USDT"
    assert symbols.get("BTC/USDT").currency == "USDT"
    for instrument_id in ("ETH/USD", "SOL/USD"):
        assert {"coinbase_prime", "kraken", "falconx"} <= set(symbols.get(instrument_id).symbols)
    for isin, cusip in [("US91282CJL63", "91282CJL6"), ("US912810TV08", "912810TV0")]:
        assert symbols.resolve_security_id("4", isin) is symbols.resolve_security_id("1", cusip)
        assert symbols.get(isin).asset_class is AssetClass.FIXED_INCOME
    assert symbols.get("EUR/USD").asset_class is AssetClass.SPOT_FX and symbols.get("EUR/USD").settlement_cycle == 2
    assert symbols.get("AAPL").settlement_cycle == 1 and symbols.get("BTC/USD").settlement_cycle == 0
    for instrument in symbols:
        assert type(instrument.tick_size) is Decimal and type(instrument.lot_size) is Decimal


def _isin_check_digit(body: str) -> int:
    digits = "".join(str(int(char, 36)) for char in body)
    total = sum(sum(divmod(int(digit) * (2 if index % 2 == 0 else 1), 10))
                for index, digit in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def test_security_ids_carry_valid_check_digits() -> None:
    for instrument in load_symbol_master():
        isin = instrument.security_ids.get("isin")
        if isin:
            assert int(isin[-1]) == _isin_check_digit(isin[:-1]), isin
            cusip = instrument.security_ids.get("cusip")
            assert cusip is None or isin[2:11] == cusip


def _wire_codes(dialect_name: str) -> list[tuple[int, str]]:
    """Every (tag, value) a dialect maps: its algo strategies and its enum re-codings."""
    from fixgw.fix.dialect import ENUM_FIELDS

    dialect = load_dialects()[dialect_name]
    codes: list[tuple[int, str]] = []
    if dialect.algo is not None:
        codes += [(dialect.algo.strategy_tag, code) for code in dialect.algo.strategies.values()]
    for field, entries in dialect.enums.items():
        for wire in entries.values():
            codes += [(ENUM_FIELDS[field][1], code) for code in ([wire] if isinstance(wire, str) else wire)]
    return codes


@pytest.mark.parametrize("dialect_name", sorted(load_dialects()))
def test_session_dictionaries_accept_every_value_the_dialect_maps(dialect_name: str) -> None:
    """QuickFIX validates against specs/fix before we see a message: a value the dialect maps but the dictionary
    does not know is refused at the session level (35=3 on 847=1001 from a FIX 4.4 EMS, issue 24)."""
    from fixgw.engine.quickfix_support import load_data_dictionary

    dialect = load_dialects()[dialect_name]
    problems = []
    for begin_string in dialect.begin_strings:
        dictionary = load_data_dictionary(begin_string)
        for tag, code in _wire_codes(dialect_name):
            if tag >= 5000 and not dictionary.isField(tag):
                continue  # a custom tag: not validated (ValidateUserDefinedFields=N)
            if not dictionary.isField(tag):
                problems.append(f"{begin_string}: tag {tag} undefined")
            elif dictionary.hasFieldValue(tag) and not dictionary.isFieldValue(tag, code):
                problems.append(f"{begin_string}: {tag}={code} not an allowed value")
        strategy_tag = dialect.algo.strategy_tag if dialect.algo else None
        if strategy_tag is not None and strategy_tag < 5000:
            problems += [f"{begin_string}: tag {strategy_tag} not in MsgType {msg_type}"
                         for msg_type in ("D", "G", "8") if not dictionary.isMsgField(msg_type, strategy_tag)]
        if dialect.algo is not None and dialect.algo.params == "strategy_parameters":
            problems += [f"{begin_string}: no StrategyParameters group (957) in MsgType {msg_type}"
                         for msg_type in ("D", "G", "8") if not dictionary.isGroup(msg_type, 957)]
    assert problems == []
