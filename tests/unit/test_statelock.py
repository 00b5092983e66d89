"""The state-dir lock on its own: exclusive, names its holder, released on release (and reusable after)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixgw.ops.statelock import LOCK_FILE, StateDirError, StateDirLock


def test_lock_is_exclusive_and_names_the_holder(tmp_path: Path) -> None:
    state = tmp_path / "new" / "state"
    with StateDirLock(state) as first:
        assert first.held and (state / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        with pytest.raises(StateDirError) as info:
            StateDirLock(state).acquire()  # another open file description: flock refuses it, even in-process
        assert str(info.value) == f"state dir {state} is in use by pid {os.getpid()}"
        assert info.value.holder_pid == os.getpid()
    assert not first.held and (state / LOCK_FILE).read_text() == ""
    with StateDirLock(state) as again:
        assert again.held


def test_a_state_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateDirError, match=r"state dir .*/file/state: cannot create it \(Not a directory\)"):
        StateDirLock(tmp_path / "file" / "state").acquire()
