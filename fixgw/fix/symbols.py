"""Loading the symbol master (specs/symbols.toml) that decoders and encoders resolve instruments with."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fixgw.model.instruments import SymbolMaster

SYMBOLS_PATH: Final = Path(__file__).resolve().parents[2] / "specs" / "symbols.toml"


def load_symbol_master(path: Path = SYMBOLS_PATH) -> SymbolMaster:
    """Read and validate a symbol master file (`[[instrument]]` tables)."""
    return SymbolMaster.from_toml(path.read_text(encoding="utf-8"))
