"""fixgw/fix/wire.py: the one FIX text path - parse, render, frame - agrees with QuickFIX and with simplefix."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import quickfix as qf
import simplefix

from fixgw.fix.fields import FieldView
from fixgw.fix.wire import SOH, frame_fix, parse_fix, render_fix

REPORT = [(35, "8"), (49, "BROKER"), (56, "FIXGW"), (34, "7"), (52, "20261207-20:55:01.123"), (37, "O1"), (11, "C1"),
          (17, "E1"), (150, "F"), (39, "2"), (55, "AAPL"), (54, "1"), (38, "100"), (32, "100"), (31, "190.25"),
          (151, "0"), (14, "100"), (6, "190.25")]


def test_frame_matches_quickfix_length_and_checksum() -> None:
    text = frame_fix("FIX.4.4", REPORT)
    again = FieldView(parse_fix(qf.Message(text, False).toString())).first  # QuickFIX recomputes 9 and 10 (and sorts)
    assert (again[9], again[10]) == (FieldView(parse_fix(text))[9], FieldView(parse_fix(text))[10])


def test_parse_reads_what_simplefix_reads() -> None:
    text = frame_fix("FIX.4.4", REPORT)
    incoming = simplefix.FixParser()
    incoming.append_buffer(text.encode())
    message = incoming.get_message()
    assert parse_fix(text) == [(int(tag), value.decode()) for tag, value in message.pairs]


def test_a_data_field_keeps_its_embedded_soh() -> None:
    fields = [(35, "B"), (148, "news"), (95, "5"), (96, f"a{SOH}b{SOH}c"), (58, "after")]
    text = frame_fix("FIX.4.4", fields)
    assert parse_fix(text)[2:-1] == fields
    assert render_fix(parse_fix(text), SOH) == text


def test_soh_outside_a_data_field_is_refused_and_garbage_is_named() -> None:
    with pytest.raises(ValueError, match="contains SOH"):
        frame_fix("FIX.4.4", [(35, "D"), (11, f"A{SOH}B")])
    with pytest.raises(ValueError, match="not a FIX field: 'x=1'"):
        parse_fix(f"35=D{SOH}x=1{SOH}")


def test_the_compliance_export_and_journal_readers_load_no_quickfix() -> None:
    code = ("import json, sys\nimport fixgw.dropcopy.export, fixgw.dropcopy.feed, fixgw.recon.journal_sources\n"
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert [name for name in json.loads(done.stdout) if name.startswith("quickfix")] == []
