"""Reproducible zip packages: the same files give the same bytes, whoever builds them.

Entries are sorted, timestamps fixed, modes normalised (0644, or 0755 when executable), and
``.git`` is never included. File contents stream through a fixed-size buffer, so memory stays
flat whatever the size of the tree. Runs in a worker thread: it is blocking I/O and CPU work.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import stat
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_CHUNK = 1024 * 1024


class SourceTooLarge(Exception):
    """The tree to package is over the configured size limit."""


class EmptySource(Exception):
    """The tree to package holds no files."""


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
    inside = root.resolve()
    for name in sorted(set(names)):
        relative = PurePosixPath(name)
        if ".git" in relative.parts or relative.is_absolute() or ".." in relative.parts:
            continue
        path = root / relative
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            continue  # symlinks, sockets and the like have no place in a package
        if not path.resolve().is_relative_to(inside):
            continue  # reached through a symlinked folder: it lies elsewhere on this host
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


def package_tree(root: Path, names: list[str] | None, max_bytes: int, target: Path) -> Package:
    """Package ``names`` under ``root`` (every file but ``.git`` when None) into ``target``."""
    files = collect(root, walk(root) if names is None else names, max_bytes=max_bytes)
    if not files:
        raise EmptySource("no files to package")
    return write_zip(files, target)


def _peak_rss_kib() -> int:
    # VmHWM is this image's own high-water mark; ru_maxrss would carry the parent's across exec.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    """``ROOT TARGET MAX_BYTES``, file names NUL-separated on stdin (or none: walk ROOT).

    Prints the package as JSON; exits 3 when the source is too large, 4 when it is empty.
    """
    root, target, max_bytes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    listed = sys.stdin.buffer.read().decode()
    names = [name for name in listed.split("\0") if name] if listed else None
    try:
        package = package_tree(root, names, max_bytes, target)
    except SourceTooLarge as exc:
        sys.stderr.write(str(exc))
        return 3
    except EmptySource as exc:
        sys.stderr.write(str(exc))
        return 4
    peak_kib = _peak_rss_kib()
    sys.stdout.write(
        json.dumps({**asdict(package), "path": str(package.path), "peak_rss_kib": peak_kib})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
