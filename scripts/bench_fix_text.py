#!/usr/bin/env python3
"""Micro-benchmark (not a test): microseconds to parse one ExecutionReport's FIX text, fixgw's parser
(`fixgw.fix.wire.parse_fix`, what the QuickFIX glue does with every inbound message) against simplefix
(a dev dependency; its FixParser is what the tests use to check framing independently), and to frame one.

    PYTHONPATH=. .venv/bin/python scripts/bench_fix_text.py [--number N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simplefix

from fixgw.fix.wire import SOH, frame_fix, parse_fix

BODY = [(35, "8"), (49, "BROKER"), (56, "FIXGW"), (34, "1234"), (52, "20261207-20:55:01.123456"), (37, "BRK-000123"),
        (11, "GW-20261207-000045"), (17, "EXEC-000987"), (150, "F"), (39, "1"), (55, "AAPL"), (54, "1"),
        (38, "1000"), (40, "2"), (44, "190.25"), (59, "0"), (32, "300"), (31, "190.24"), (151, "700"), (14, "300"),
        (6, "190.24"), (60, "20261207-20:55:01.120000"), (1, "ACC-1"), (207, "XNAS"), (30, "XNAS")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    text = frame_fix("FIX.4.4", BODY)
    data = text.encode()

    def simplefix_parse() -> list[tuple[int, str]]:
        incoming = simplefix.FixParser()
        incoming.append_buffer(data)
        message = incoming.get_message()
        return [(int(tag), value.decode()) for tag, value in message.pairs]

    def simplefix_frame() -> bytes:
        message = simplefix.FixMessage()
        for tag, value in BODY:
            message.append_pair(tag, value)
        message.append_pair(8, "FIX.4.4", header=True)
        return bytes(message.encode())

    assert simplefix_parse() == parse_fix(text, SOH)
    cases = {"parse, fixgw parse_fix": lambda: parse_fix(text, SOH),
             "parse, simplefix FixParser (+ to (int, str) pairs)": simplefix_parse,
             "frame, fixgw frame_fix": lambda: frame_fix("FIX.4.4", BODY),
             "frame, simplefix FixMessage.encode": simplefix_frame}
    print(f"ExecutionReport: {len(text)} bytes, {len(BODY) + 3} fields; best of {args.repeat} x {args.number}")
    for name, call in cases.items():
        best = min(timeit.repeat(call, number=args.number, repeat=args.repeat))
        print(f"  {name:55s} {best / args.number * 1e6:7.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
