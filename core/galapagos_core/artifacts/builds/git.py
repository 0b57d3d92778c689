"""Git through asyncio subprocesses: timeouts, no prompts, credentials never in argv or logs."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from pydantic import SecretStr

from galapagos_core.kernel.boundaries import GuardedResolver, OutboundGuard, scp_host
from galapagos_core.kernel.processes import die_with_parent

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_USERINFO = re.compile(r"(://)[^/@\s]+@")
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$GALAPAGOS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$GALAPAGOS_GIT_PASSWORD" ;;
esac
"""


_PROBE = "/info/refs?service=git-upload-pack"
_MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}


class GitError(Exception):
    """A git command failed; the message is safe to show (credentials stripped)."""


@dataclass(frozen=True)
class Remote:
    """A git remote as git is to reach it: the URL, ``-c`` settings and ssh options that pin
    the connection to addresses the outbound guard allowed."""

    url: str
    config: dict[str, str] = field(default_factory=dict)
    ssh_options: tuple[str, ...] = ()


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower() or "ssh"  # scp-like: git@host:org/repo


def _allow_only(scheme: str) -> dict[str, str]:
    """Git may speak this transport and no other (no ext::, no file:// from submodules)."""
    return {"protocol.allow": "never", f"protocol.{scheme}.allow": "always"}


def local_remote(url: str) -> Remote:
    """A file:// remote, its folder already checked by the local-source rules."""
    return Remote(url, _allow_only("file"))


async def guarded_remote(url: str, guard: OutboundGuard, seconds: float) -> Remote:
    """``url`` after the guard: redirects followed and checked, the host resolved and every
    address allowed, and git pinned to those addresses so a second lookup cannot differ."""
    scheme = _scheme(url)
    if scheme in ("http", "https"):
        url = await _follow_redirects(url, guard, seconds)
        scheme = _scheme(url)
    parts = urlsplit(url)
    host = parts.hostname or scp_host(url) or ""
    port = parts.port if scheme != "ssh" or "://" in url else None
    addresses = await guard.resolve(host, port or _DEFAULT_PORTS.get(scheme, 22))
    config = _allow_only(scheme)
    if scheme in ("http", "https"):
        pinned = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
        config["http.followRedirects"] = "false"
        config["http.curloptResolve"] = f"{host}:{port or _DEFAULT_PORTS[scheme]}:{pinned}"
        return Remote(url, config)
    if scheme == "ssh":
        return Remote(url, config, (f"HostName={addresses[0]}", f"HostKeyAlias={host}"))
    # git:// has no host identity to keep: connect to the checked address itself.
    address = f"[{addresses[0]}]" if ":" in addresses[0] else addresses[0]
    netloc = f"{address}:{parts.port}" if parts.port else address
    return Remote(urlunsplit((parts.scheme, netloc, parts.path, "", "")), config)


async def _follow_redirects(url: str, guard: OutboundGuard, seconds: float) -> str:
    """Where git's first request for ``url`` ends up, every hop checked by the guard (git
    itself is then told not to follow redirects)."""
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard))
    limits = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=limits) as session:
        for _ in range(_MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            # Literal addresses skip resolvers: check every hop here as well.
            await guard.resolve(parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme])
            probe = url.rstrip("/") + _PROBE
            try:
                async with session.get(probe, allow_redirects=False) as response:
                    location = (
                        response.headers.get("Location")
                        if response.status in (301, 302, 303, 307, 308)
                        else None
                    )
            except (aiohttp.ClientError, TimeoutError, OSError):
                return url  # git reports the host as unreachable in its own words
            if location is None:
                return url
            target = urljoin(probe, location)
            if not target.endswith(_PROBE) or _scheme(target) not in ("http", "https"):
                raise GitError(f"{redact_url(url)} redirects to something that is not a git URL")
            url = target[: -len(_PROBE)]
    raise GitError(f"{redact_url(url)} redirects more than {_MAX_REDIRECTS} times")


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

    def _environment(self, remote: Remote | None = None) -> dict[str, str]:
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
            ssh += f" -i {shlex.quote(str(creds.ssh_key_path))} -o IdentitiesOnly=yes"
        if remote is not None:
            ssh += "".join(f" -o {shlex.quote(option)}" for option in remote.ssh_options)
        env["GIT_SSH_COMMAND"] = ssh
        return env

    async def run(self, *args: str, cwd: Path | None = None, remote: Remote | None = None) -> str:
        """Run ``git args…``; return stdout, raise :class:`GitError` with stderr otherwise."""
        settings = [
            item
            for key, value in (remote.config if remote else {}).items()
            for item in ("-c", f"{key}={value}")
        ]
        process = await asyncio.create_subprocess_exec(
            "nice",  # background work: the API sharing this machine comes first
            "-n",
            "10",
            "git",
            *settings,
            *args,
            cwd=cwd or self.workdir,
            env=self._environment(remote),
            preexec_fn=die_with_parent,
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
            # Git's own verdict only: lines a remote sent ("remote: …") are its answer.
            own = [line for line in lines if line and not line.startswith("remote:")]
            fatal = [line for line in own if line.startswith(("fatal:", "error:"))]
            message = _USERINFO.sub(r"\1", " ".join(fatal or own[-3:])) or "no output"
            raise GitError(f"git {args[0]} failed: {message}")
        return stdout.decode(errors="replace")

    async def checkout(self, remote: Remote, ref: str | None, target: Path) -> str:
        """Clone ``remote`` at branch, tag or commit ``ref`` into ``target``; return the
        commit."""
        url = remote.url
        if ref is None or not _COMMIT.match(ref):
            branch = ["--branch", ref] if ref else []
            await self.run(
                "clone", "--quiet", "--depth", "1", *branch, "--", url, str(target), remote=remote
            )
        else:
            await self.run(
                "clone", "--quiet", "--no-checkout", "--", url, str(target), remote=remote
            )
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
