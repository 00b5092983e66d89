"""Progress reporting: plain lines off a terminal, a rich bar on one."""

from __future__ import annotations

import io

from fixgw.ops.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    with progress("replaying", total=4, stream=out, every_s=0) as bar:
        for _ in range(4):
            bar.advance()
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["replaying: 1/4 (25%)", "replaying: 2/4 (50%)", "replaying: 3/4 (75%)",
                         "replaying: 4/4 (100%)"]
    assert lines[-1].startswith("replaying: 4/4 (100%) done in ")


def test_plain_lines_are_throttled_and_work_without_a_total() -> None:
    out = io.StringIO()
    with progress("scanning", stream=out, every_s=3600) as bar:
        bar.advance(10)
        bar.advance(5)
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith("scanning: 15 done in ")


def test_a_bar_on_a_terminal() -> None:
    out = _Terminal()
    with progress("loading", total=3, stream=out) as bar:
        bar.advance(3)
    assert bar.done == 3
    assert "loading" in out.getvalue() and "3/3" in out.getvalue()
