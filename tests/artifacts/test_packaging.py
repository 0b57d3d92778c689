"""Reproducible packaging (unit): same files, same bytes; no .git; modes kept; size limit."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from galapagos_core.artifacts.builds import packaging


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "model.py").write_text("def predict(x):\n    return x\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def _package(root: Path, target: Path) -> packaging.Package:
    files = packaging.collect(root, packaging.walk(root), max_bytes=10_000)
    return packaging.write_zip(files, target)


def test_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    first = _package(_tree(tmp_path / "a"), tmp_path / "a.zip")
    second_root = _tree(tmp_path / "b")
    os.utime(second_root / "pkg" / "model.py", (1_000_000, 1_000_000))  # other mtimes
    second = _package(second_root, tmp_path / "b.zip")
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_entries_are_sorted_without_git_and_keep_exec_bits(tmp_path: Path) -> None:
    package = _package(_tree(tmp_path / "src"), tmp_path / "p.zip")
    with zipfile.ZipFile(package.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["pkg/model.py", "run.sh"]
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes == {"pkg/model.py": 0o644, "run.sh": 0o755}
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_trees_over_the_limit_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    (root / "blob.bin").write_bytes(b"x" * 20_000)
    with pytest.raises(packaging.SourceTooLarge, match="limit"):
        packaging.collect(root, packaging.walk(root), max_bytes=10_000)
