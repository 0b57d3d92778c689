"""Reproducible zip packages: the same files give the same bytes, whoever builds them.

Entries are sorted, timestamps fixed, modes normalised (0644, or 0755 when executable), and
``.git`` is never included. File contents stream through a fixed-size buffer, so memory stays
flat whatever the size of the tree. Runs in a worker thread: it is blocking I/O and CPU work.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_CHUNK = 1024 * 1024


class SourceTooLarge(Exception):
    """The tree to package is over the configured size limit."""


@dataclass(frozen=True)
class PackageFile:
    path: Path  # on disk
    name: str  # inside the zip (posix, relative)
    size: int
    executable: bool


@dataclass(frozen=True)
class Package:
    path: Path
    sha256: str
    size: int
    files: int


def collect(root: Path, names: Iterable[str], *, max_bytes: int) -> list[PackageFile]:
    """The files to package, sorted; refuses trees larger than ``max_bytes``."""
    files: list[PackageFile] = []
    total = 0
    for name in sorted(set(names)):
        relative = PurePosixPath(name)
        if ".git" in relative.parts or relative.is_absolute() or ".." in relative.parts:
            continue
        path = root / relative
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            continue  # symlinks, sockets and the like have no place in a package
        total += info.st_size
        if total > max_bytes:
            raise SourceTooLarge(
                f"the source is larger than the {max_bytes / (1024 * 1024):g} MiB limit"
            )
        executable = bool(info.st_mode & stat.S_IXUSR)
        files.append(PackageFile(path, str(relative), info.st_size, executable))
    return files


def walk(root: Path) -> list[str]:
    """Every regular file under ``root`` except ``.git``, as posix paths relative to it."""
    names = []
    for directory, subdirs, filenames in os.walk(root):
        subdirs[:] = [d for d in subdirs if d != ".git"]
        base = Path(directory).relative_to(root)
        names += [(base / f).as_posix() for f in filenames]
    return names


def write_zip(files: list[PackageFile], target: Path) -> Package:
    """Write ``files`` as a deterministic zip at ``target`` and hash it."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for item in files:
            entry = zipfile.ZipInfo(item.name, date_time=_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # unix, so the mode below is honoured
            mode = 0o755 if item.executable else 0o644
            entry.external_attr = (stat.S_IFREG | mode) << 16
            entry.file_size = item.size
            with item.path.open("rb") as source, archive.open(entry, "w", force_zip64=True) as out:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
    digest = hashlib.sha256()
    with target.open("rb") as written:
        while chunk := written.read(_CHUNK):
            digest.update(chunk)
    return Package(target, digest.hexdigest(), target.stat().st_size, len(files))
