"""Child processes that never outlive the process that started them, and work folders that
never outlive the worker that made them.

A worker killed with SIGKILL gets no chance to stop its children (git, the packager): on
Linux the kernel kills them for it (``PR_SET_PDEATHSIG``). Each build folder holds a file
locked for as long as its worker lives, so a starting worker removes exactly the folders
whose owner is gone, even when several workers share one data directory.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LOCK = ".owner-lock"
_UNLOCKED_GRACE_SECONDS = 60  # a folder is made a moment before its lock
_libc = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


def die_with_parent() -> None:
    """``preexec_fn`` for children: SIGKILL them when the parent dies (Linux only)."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@asynccontextmanager
async def owned_folder(root: Path, prefix: str) -> AsyncIterator[Path]:
    """A fresh private folder under ``root``, locked while the block runs, removed after."""
    folder, lock = await asyncio.to_thread(_locked_folder, root, prefix)
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        os.close(lock)


def _locked_folder(root: Path, prefix: str) -> tuple[Path, int]:
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    lock = os.open(folder / _LOCK, os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    return folder, lock


def remove_abandoned(root: Path) -> list[Path]:
    """Remove folders under ``root`` whose owner died; return them."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if not folder.is_dir() or folder.is_symlink():
            continue
        try:
            lock = os.open(folder / _LOCK, os.O_RDONLY)
        except FileNotFoundError:
            if time.time() - folder.stat().st_mtime < _UNLOCKED_GRACE_SECONDS:
                continue  # its owner may be about to lock it
            lock = None
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its worker is alive
        finally:
            if lock is not None:
                os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
