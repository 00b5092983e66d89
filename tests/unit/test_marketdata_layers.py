"""The pure market-data layers load no I/O library: checked in a fresh interpreter (a layer rule nobody enforces
is a wish)."""

from __future__ import annotations

import json
import subprocess
import sys

PURE = ("fixgw.marketdata.quotes", "fixgw.marketdata.reference", "fixgw.marketdata.pnl",
        "fixgw.marketdata.settings", "fixgw.marketdata.report", "fixgw.fix.marketdata", "fixgw.risk.market")
IO = ("httpx", "quickfix", "sqlalchemy", "websockets", "starlette", "fastapi", "uvicorn")


def test_pure_market_data_modules_import_no_io_library() -> None:
    code = (f"import sys\nfor name in {PURE!r}: __import__(name)\n"
            "import json; print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert [name for name in loaded if name.split(".")[0] in IO] == []
