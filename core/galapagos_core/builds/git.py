"""Git through asyncio subprocesses: timeouts, no prompts, credentials never in argv or logs."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_USERINFO = re.compile(r"(://)[^/@\s]+@")
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$GALAPAGOS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$GALAPAGOS_GIT_PASSWORD" ;;
esac
"""


class GitError(Exception):
    """A git command failed; the message is safe to show (credentials stripped)."""


@dataclass(frozen=True)
class GitCredentials:
    username: str | None = None
    password: SecretStr | None = None
    ssh_key_path: Path | None = None


def redact_url(url: str) -> str:
    """``url`` without any user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Git:
    """Runs git with a clean, prompt-free environment and an askpass helper for secrets."""

    def __init__(self, workdir: Path, credentials: GitCredentials, timeout: float) -> None:
        self.workdir = workdir
        self.credentials = credentials
        self.timeout = timeout

    def _environment(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        }
        creds = self.credentials
        if creds.password is not None:
            askpass = self.workdir / "askpass.sh"
            askpass.write_text(_ASKPASS)
            askpass.chmod(0o700)
            env["GIT_ASKPASS"] = str(askpass)
            env["GALAPAGOS_GIT_USERNAME"] = creds.username or "x-access-token"
            env["GALAPAGOS_GIT_PASSWORD"] = creds.password.get_secret_value()
        ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
        if creds.ssh_key_path is not None:
            ssh += f" -i {creds.ssh_key_path} -o IdentitiesOnly=yes"
        env["GIT_SSH_COMMAND"] = ssh
        return env

    async def run(self, *args: str, cwd: Path | None = None) -> str:
        """Run ``git args…``; return stdout, raise :class:`GitError` with stderr otherwise."""
        process = await asyncio.create_subprocess_exec(
            "nice",  # background work: the API sharing this machine comes first
            "-n",
            "10",
            "git",
            *args,
            cwd=cwd or self.workdir,
            env=self._environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise GitError(f"git {args[0]} took longer than {self.timeout:.0f}s") from None
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            lines = [line.strip() for line in stderr.decode(errors="replace").splitlines()]
            fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
            message = _USERINFO.sub(r"\1", " ".join(fatal or lines[-3:])) or "no output"
            raise GitError(f"git {args[0]} failed: {message}")
        return stdout.decode(errors="replace")

    async def checkout(self, url: str, ref: str | None, target: Path) -> str:
        """Clone ``url`` at branch, tag or commit ``ref`` into ``target``; return the commit."""
        if ref is None or not _COMMIT.match(ref):
            branch = ["--branch", ref] if ref else []
            await self.run("clone", "--quiet", "--depth", "1", *branch, "--", url, str(target))
        else:
            await self.run("clone", "--quiet", "--no-checkout", "--", url, str(target))
            await self.run("checkout", "--quiet", "--detach", ref, cwd=target)
        return (await self.run("rev-parse", "HEAD", cwd=target)).strip()

    async def tracked_files(self, tree: Path) -> list[str] | None:
        """Files git would package from ``tree`` (tracked + untracked, minus ignored); None if
        ``tree`` is not inside a git work tree."""
        try:
            output = await self.run(
                "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=tree
            )
        except GitError:
            return None
        return [name for name in output.split("\0") if name]
