"""Real git repositories made in a temp dir, for build tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

_IDENTITY = [
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.com",
    "-c",
    "init.defaultBranch=main",
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *_IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def write(repo: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def make_repo(path: Path, files: dict[str, str | bytes], message: str = "initial") -> Path:
    """A repository at ``path`` on branch main with ``files`` committed."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet")
    write(path, files)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", message)
    return path


def commit(repo: Path, files: dict[str, str | bytes], message: str = "change") -> str:
    write(repo, files)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")
