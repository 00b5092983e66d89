#!/usr/bin/env python3
"""Micro-benchmark of the FIX translation hot path (not a test): microseconds per message for
NewOrderSingle decode (EMS -> canonical), NewOrderSingle encode (canonical -> broker),
ExecutionReport decode (broker -> canonical) and ExecutionReport encode (canonical -> EMS).

    PYTHONPATH=. .venv/bin/python scripts/bench_translation.py [--number N] [--repeat R]

Reports the best of R runs of N calls each (the least disturbed by other work on the machine), twice:
"warm" with the decimal text caches holding the message's values (steady traffic repeats quantities and
prices), and "cold" with the caches emptied before every call (the cost of emptying them subtracted).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode
from fixgw.fix.dialect import dialect_named
from fixgw.fix.encode import encode
from fixgw.fix.fields import FieldView
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.values import clear_caches
from fixgw.fix.wire import parse_fix

NOS = ("8=FIX.4.4|9=178|35=D|34=1042|49=EMS1|52=20240102-14:30:00.123|56=FIXGW|1=ACC-1|11=ORD-1042|"
       "38=250|40=2|44=187.43|54=1|55=AAPL|59=0|60=20240102-14:30:00.123|10=101|")
ER = ("8=FIX.4.4|9=220|35=8|34=877|49=BROKER|52=20240102-14:30:00.456|56=FIXGW|1=PB-ACC-1|6=187.43|"
      "11=GW-1042|14=100|17=X-877|30=XNAS|31=187.43|32=100|37=BRK-000877|38=250|39=1|40=2|44=187.43|54=1|"
      "55=AAPL|59=0|60=20240102-14:30:00.455|150=F|151=150|10=202|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=80)
    args = parser.parse_args(argv)

    symbols = load_symbol_master()
    ems = Codec(dialect_named("ems-default"), symbols, "FIX.4.4")
    broker = Codec(dialect_named("generic-broker"), symbols, "FIX.4.4")
    nos_fields = parse_fix(NOS, "|")
    er_fields = parse_fix(ER, "|")
    order = decode(nos_fields, ems)
    event = decode(er_fields, broker)

    cases = {
        "FieldView(ER) only": lambda: FieldView(er_fields),
        "NOS decode (EMS -> canonical)": lambda: decode(nos_fields, ems),
        "NOS encode (canonical -> broker)": lambda: encode(order, broker),
        "ER decode (broker -> canonical)": lambda: decode(er_fields, broker),
        "ER encode (canonical -> EMS)": lambda: encode(event, ems),
    }
    def best(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=args.number, repeat=args.repeat)) / args.number * 1e6

    clearing = best(clear_caches)
    print(f"{'':36s} {'warm':>8s} {'cold':>9s}")
    warm_total = cold_total = 0.0
    for name, call in cases.items():
        warm = best(call)
        cold = best(lambda call=call: (clear_caches(), call())) - clearing
        if not name.startswith("FieldView"):
            warm_total += warm
            cold_total += cold
        print(f"{name:36s} {warm:8.2f} {cold:8.2f} us")
    print(f"{'NOS+ER pair (4 operations)':36s} {warm_total:8.2f} {cold_total:8.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
