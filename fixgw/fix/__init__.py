"""FIX <-> canonical translation (sans-I/O): field lists, dialects, decoders, encoders and reject replies.

    from fixgw.fix import Codec, dialect_named, load_symbol_master
    from fixgw.fix.decode import decode
    from fixgw.fix.encode import encode
    from fixgw.fix.rejects import reject_reply

    codec = Codec(dialect_named("ems-default"), load_symbol_master(), "FIX.4.4")
    order = decode(fields, codec)          # list[tuple[int, str]] -> NewOrder | ExecutionEvent | ...
    body = encode(event, codec)            # canonical value -> [(35, "8"), ...] (header/trailer: session layer)
    reply = reject_reply(error, fields, codec, exec_id=...)   # MessageRejected -> 35=3 / 35=j / 35=8 / 35=9
"""

from fixgw.fix.codec import Codec
from fixgw.fix.decode import Inbound
from fixgw.fix.dialect import Dialect, DialectConfigError, DialectMappingError, dialect_named, load_dialects
from fixgw.fix.fields import Field, Fields, FieldView
from fixgw.fix.messages import BusinessReject, SessionReject
from fixgw.fix.symbols import load_symbol_master
from fixgw.fix.versions import FixVersion
from fixgw.fix.wire import frame_fix, parse_fix, render_fix

__all__ = [
    "BusinessReject",
    "Codec",
    "Dialect",
    "DialectConfigError",
    "DialectMappingError",
    "Field",
    "FieldView",
    "Fields",
    "FixVersion",
    "Inbound",
    "SessionReject",
    "dialect_named",
    "frame_fix",
    "load_dialects",
    "load_symbol_master",
    "parse_fix",
    "render_fix",
]
