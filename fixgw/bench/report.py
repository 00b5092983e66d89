"""Printing a scenario's table (rich) and writing its JSON under bench-results/."""

from __future__ import annotations

import contextlib
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    import os

    return {"cpus": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "load_avg_1m": os.getloadavg()[0]}


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    result = Table(title=title)
    for n, column in enumerate(columns):
        result.add_column(column, justify="left" if n == 0 else "right")
    for row in rows:
        result.add_row(*("-" if cell is None else str(cell) for cell in row))
    return result


def emit(scenario: str, result: dict[str, Any], tables: Sequence[Table], out_dir: Path,
         console: Console | None = None) -> Path:
    """Print the tables and write `<out_dir>/<scenario>-<UTC time>.json` (result + machine + when)."""
    console = console or Console()
    for item in tables:
        console.print(item)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out_dir / f"{scenario}-{stamp}.json"
    document = {"scenario": scenario, "at": stamp, "machine": machine(), **result}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"[dim]written {path}[/]")
    return path
