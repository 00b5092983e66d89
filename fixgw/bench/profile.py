"""Reading py-spy's collapsed stacks (`--format raw`): where the gateway's samples went, by function."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match["file"]
    for marker in ("/fixgw/", "/site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match['function']} ({file})"


def top(path: Path, limit: int = 25, thread: str | None = "fixgw-router") -> tuple[int, list[tuple[str, int, int]]]:
    """(total samples, [(function, inclusive samples, self samples)]) sorted by inclusive samples.

    `thread`: only stacks whose thread name contains it (py-spy puts the thread first); None for all threads.
    Idle samples (a thread waiting in queue.get / select) are kept: they show how busy the thread was.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        if thread is not None and thread not in frames[0]:
            continue
        count = int(count_text)
        total += count
        names = [_short(frame) for frame in frames[1:]]
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count
    rows = [(name, samples, own[name]) for name, samples in inclusive.most_common(limit)]
    return total, rows
