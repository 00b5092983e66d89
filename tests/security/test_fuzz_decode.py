"""Hostile field lists into the translation layer: `decode` returns a canonical object or raises
MessageRejected - nothing else, ever - and the reject reply built from that error never fails either.

Cases start from realistic messages of every inbound type for every dialect and FIX version, then hypothesis
drops, duplicates, reorders and rewrites fields with hostile values; some are random field lists outright.
Count: $FIXGW_FUZZ_EXAMPLES (scripts/fuzz), else a bounded number."""

from __future__ import annotations

from functools import cache

from fuzz_budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode
from fixgw.fix.dialect import dialect_named
from fixgw.fix.rejects import reject_reply
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.wire import parse_fix
from fixgw.model.errors import MessageRejected

HEADER = {"FIX.4.2": "8=FIX.4.2|34=2|49=PEER|52=20240102-14:30:00.125|56=FIXGW|",
          "FIX.4.4": "8=FIX.4.4|34=7|49=PEER|52=20240102-14:30:00.125|56=FIXGW|",
          "FIXT.1.1": "8=FIXT.1.1|34=12|49=PEER|52=20240315-09:30:00.123999|56=FIXGW|1128=9|"}
CLIENT_BODIES = [
    "35=D|11=ORD-1|1=ACC1|21=1|38=100|40=2|44=10.5|54=1|55=AAPL|59=0|60=20240102-14:30:00.123|",
    "35=D|11=ORD-2|38=5|40=1|54=2|55=BTC/USD|59=3|60=20240102-14:30:00.123|847=TWAP|957=2|958=StartTime|"
    "959=19|960=20240102-15:00:00|958=EndTime|959=19|960=20240102-16:00:00|",
    "35=F|11=CXL-1|41=ORD-1|38=100|54=1|55=AAPL|60=20240102-14:30:00.123|",
    "35=G|11=RPL-1|41=ORD-1|1=ACC1|21=1|38=200|40=2|44=10.25|54=1|55=AAPL|59=0|60=20240102-14:30:00.123|",
    "35=H|11=ORD-1|54=1|55=AAPL|",
    "35=R|131=Q1|146=1|55=AAPL|",
]
BROKER_BODIES = [
    "35=8|6=0|11=GW-1|14=0|17=E-1|20=0|37=O-1|39=0|54=1|55=AAPL|150=0|151=100|",
    "35=8|6=10.5|11=GW-1|14=40|17=E-2|20=0|31=10.5|32=40|37=O-1|39=1|54=1|55=AAPL|150=F|151=60|",
    "35=8|6=0|11=GW-2|14=0|17=E-3|19=E-2|20=1|37=O-1|39=4|41=GW-1|54=1|55=AAPL|150=H|151=0|",
    "35=9|11=GW-3|37=O-1|39=0|41=GW-1|102=1|434=1|58=too late|",
    "35=j|45=3|58=nope|372=D|380=3|",
    "35=3|45=3|58=bad|371=44|372=D|373=5|",
]
DIALECTS = [(name, begin) for name, begins in (
    ("ems-default", ("FIX.4.4", "FIX.4.2", "FIXT.1.1")), ("generic-broker", ("FIX.4.4", "FIXT.1.1")),
    ("fix42-broker", ("FIX.4.2",)), ("equities-broker-42", ("FIX.4.2",)), ("fixed-income-broker", ("FIX.4.4",)))
    for begin in begins]
KNOWN_TAGS = [1, 6, 11, 14, 17, 19, 20, 21, 22, 31, 32, 35, 37, 38, 39, 40, 41, 44, 45, 48, 54, 55, 58, 59, 60, 99,
              102, 103, 126, 150, 151, 371, 372, 373, 380, 434, 453, 448, 447, 452, 847, 957, 958, 959, 960, 1128]
HOSTILE_VALUES = ["", " ", "0", "-1", "-0", "1e999", "NaN", "Infinity", "0x10", "1_000", "\uff11\uff12\uff13",
                  "9" * 400, "0.0000000000000000000000001", "99999999999999999999999999999.5", "20241301-25:61:61",
                  "A" * 5000, "\u202e", "\x00", "ORD-1", "AAPL", "BTC/USD", "Y", "N", "2", "8", "H"]


@cache
def codec(dialect: str, begin: str) -> Codec:
    return Codec(dialect_named(dialect), load_symbol_master(), begin)


def _template(role: str, begin: str) -> st.SearchStrategy[list[tuple[int, str]]]:
    bodies = CLIENT_BODIES if role == "client" else BROKER_BODIES
    return st.sampled_from(bodies).map(lambda body: parse_fix(HEADER[begin] + body + "10=000|", "|"))


values = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=40),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str), st.integers().map(str))
tags = st.one_of(st.sampled_from(KNOWN_TAGS), st.integers(min_value=-5, max_value=100_000))


@st.composite
def hostile_fields(draw: st.DrawFn) -> tuple[str, str, list[tuple[int, str]]]:
    dialect, begin = draw(st.sampled_from(DIALECTS))
    role = codec(dialect, begin).dialect.role
    if draw(st.integers(0, 9)) == 0:  # a random list outright
        fields = draw(st.lists(st.tuples(tags, values), max_size=30))
        return dialect, begin, fields
    fields = list(draw(_template(role, begin)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["drop", "rewrite", "insert", "duplicate", "swap"]))
        if not fields:
            break
        index = draw(st.integers(0, len(fields) - 1))
        if action == "drop":
            del fields[index]
        elif action == "rewrite":
            fields[index] = (fields[index][0], draw(values))
        elif action == "insert":
            fields.insert(index, (draw(tags), draw(values)))
        elif action == "duplicate":
            fields.insert(index, fields[index])
        else:
            other = draw(st.integers(0, len(fields) - 1))
            fields[index], fields[other] = fields[other], fields[index]
    return dialect, begin, fields


@settings(max_examples=examples(400), deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_fields())
def test_decode_raises_only_message_rejected(case: tuple[str, str, list[tuple[int, str]]]) -> None:
    dialect, begin, fields = case
    try:
        decode(fields, codec(dialect, begin))
    except MessageRejected as error:
        reply = reject_reply(error, fields, codec(dialect, begin), exec_id="FUZZ-1")
        assert reply and reply[0][0] == 35
