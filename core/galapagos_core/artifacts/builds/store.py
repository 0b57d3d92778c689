"""Content-addressed package storage. The interface allows an S3-compatible store later."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PackageStore(Protocol):
    async def put(self, local_file: Path, sha256: str) -> None:
        """Store ``local_file`` under its digest (idempotent: same digest, same bytes)."""

    def locate(self, sha256: str) -> Path | None:
        """A local path to read the package from, or None if it is not stored."""


class DirectoryStore:
    """Packages as ``<root>/<aa>/<sha256>.zip``; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.zip"

    async def put(self, local_file: Path, sha256: str) -> None:
        await asyncio.to_thread(self._put, local_file, sha256)

    def _put(self, local_file: Path, sha256: str) -> None:
        target = self._path(sha256)
        if target.exists():
            local_file.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_suffix(f".{os.getpid()}.part")
        shutil.move(local_file, staging)
        os.replace(staging, target)

    def locate(self, sha256: str) -> Path | None:
        try:
            path = self._path(sha256)
        except ValueError:
            return None
        return path if path.is_file() else None
