"""`DialectTranslator`: the translation layer (fixgw.fix) bound to one session, as the engine's `SessionTranslator`."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import structlog

from fixgw.engine.translator import BrokerCommand, EmsCommand
from fixgw.fix.codec import Codec
from fixgw.fix.decode import decode
from fixgw.fix.dialect import load_dialect
from fixgw.fix.encode import encode
from fixgw.fix.fields import Fields
from fixgw.fix.rejects import reject_reply
from fixgw.model.errors import MessageRejected
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import CancelOrder, CancelRejectEvent, ExecutionEvent, NewOrder, ReplaceOrder, StatusRequest

log = structlog.get_logger("fixgw.engine.translation")

# ExecIDs of rejects built before an order exists: unique per process start and counter.
_REJECT_IDS = itertools.count(1)
_REJECT_PREFIX = f"RJ{int(time.time()):x}{os.getpid():x}"


class DialectTranslator:
    def __init__(self, codec: Codec, begin_string: str) -> None:
        self.codec = codec
        self.begin_string = begin_string
        self.symbol_scheme = codec.symbol_scheme
        self.supports_mass_status = codec.dialect.mass_status and not codec.is_fix42

    @classmethod
    def create(cls, dialect: str, begin_string: str, symbols: SymbolMaster, specs_dir: Path) -> DialectTranslator:
        loaded = load_dialect(specs_dir / "dialects" / f"{dialect}.toml")
        return cls(Codec(loaded, symbols, begin_string), begin_string)

    def decode_ems(self, fields: Fields) -> EmsCommand:
        decoded = decode(fields, self.codec)
        if isinstance(decoded, (NewOrder, CancelOrder, ReplaceOrder, StatusRequest)):
            return decoded
        msg_type = next((value for tag, value in fields if tag == 35), "")
        raise MessageRejected(f"unsupported message type {msg_type!r}", kind="business", ref_msg_type=msg_type)

    def reject_reply(self, error: Exception, fields: Fields) -> Fields:
        assert isinstance(error, MessageRejected)
        return reject_reply(error, fields, self.codec, exec_id=f"{_REJECT_PREFIX}-{next(_REJECT_IDS)}")

    def encode_report(self, report: ExecutionEvent | CancelRejectEvent) -> Fields:
        return encode(report, self.codec)

    def encode_command(self, command: BrokerCommand) -> Fields:
        return encode(command, self.codec)

    def decode_venue(self, fields: Fields) -> ExecutionEvent | CancelRejectEvent | None:
        decoded = decode(fields, self.codec)
        if isinstance(decoded, (ExecutionEvent, CancelRejectEvent)):
            return decoded
        log.warning("venue.reject_received", counterparty=self.codec.name, message=repr(decoded))
        return None
