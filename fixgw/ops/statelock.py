"""One gateway process per state dir (DESIGN.md invariant 8): an exclusive flock on `<state_dir>/fixgw.lock`.

    with StateDirLock(config.state_dir):     # StateDirError when it cannot be taken, naming the path (and pid)
        ...                                  # the journal, QuickFIX's stores, sessions

The kernel drops the lock when the process ends, however it ends (kill -9 included): no stale lock to clean up.
The file holds the holder's pid, for the message a second process prints. Taken before anything in the state dir
is touched, so a second `fixgw run` cannot rewrite the first one's QuickFIX store or log on in its place.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_FILE = "fixgw.lock"


class StateDirError(RuntimeError):
    """The state dir cannot be used: in use by another process, or not creatable/writable (the path is named)."""

    def __init__(self, message: str, holder_pid: int | None = None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


class StateDirLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Create the state dir if needed and take the lock, or raise StateDirError at once (never waits)."""
        if self._fd is not None:
            return
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateDirError(f"state dir {self.state_dir}: cannot create it ({exc.strerror})") from None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateDirError(f"state dir {self.state_dir}: cannot open {self.path} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            by = f"pid {holder}" if holder is not None else "another process"
            raise StateDirError(f"state dir {self.state_dir} is in use by {by}", holder) from None
        except OSError as exc:
            os.close(fd)
            raise StateDirError(f"state dir {self.state_dir}: cannot lock {self.path} ({exc.strerror})") from None
        pid = f"{os.getpid()}\n".encode()
        os.pwrite(fd, pid, 0)  # then cut: a reader never sees an empty file while we hold the lock
        os.ftruncate(fd, len(pid))
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # no pid left behind to mislead a reader
        os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> StateDirLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
