"""Progress for long CLI operations: a rich progress bar on a terminal, plain log lines otherwise.

    with progress("replaying journal", total=len(rows)) as bar:
        for row in rows:
            ...
            bar.advance()

Off a terminal (systemd, CI, a pipe) it prints `label: 1200/5000 (24%)` at most every `every_s` seconds and
a final line, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class _Lines:
    """The plain variant: a line now and then."""

    def __init__(self, label: str, total: int | None, stream: TextIO, every_s: float) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream
        self._every_s = every_s
        self._started = self._last = time.monotonic()

    def _line(self, final: bool = False) -> str:
        if self.total:
            text = f"{self.label}: {self.done}/{self.total} ({self.done * 100 // self.total}%)"
        else:
            text = f"{self.label}: {self.done}"
        return f"{text} done in {time.monotonic() - self._started:.1f} s" if final else text

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= self._every_s:
            self._last = now
            print(self._line(), file=self._stream, flush=True)

    def finish(self) -> None:
        print(self._line(final=True), file=self._stream, flush=True)


class _Bar:
    def __init__(self, progress: Progress, label: str, total: int | None) -> None:
        self._progress = progress
        self._task = progress.add_task(label, total=total)
        self.done = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._progress.advance(self._task, count)


@contextmanager
def progress(label: str, total: int | None = None, *, stream: TextIO | None = None,
             every_s: float = 5.0) -> Iterator[_Bar | _Lines]:
    """A progress reporter with `advance(count=1)`; a bar when `stream` (default stderr) is a terminal."""
    out = stream or sys.stderr
    if out.isatty():
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn()]
        with Progress(*columns, console=Console(file=out), transient=False) as bar_progress:
            yield _Bar(bar_progress, label, total)
        return
    lines = _Lines(label, total, out, every_s)
    yield lines
    lines.finish()
