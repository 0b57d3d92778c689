"""What users may aim the platform at: folders of this host, and hosts it calls out to.

Every path or URL a user names and the platform then reads or calls goes through here:
local paths only below configured roots and never into the data directory (symlinks
resolved first); outbound connections never to loopback, link-local, private or otherwise
non-global addresses unless configuration allows them, checked after DNS resolution and on
every redirect. Refusals say what was refused, never what a target answered.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.errors import PermissionDenied

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class LocalPathRefused(PermissionDenied):
    default_code = "LOCAL_SOURCE_REFUSED"


class OutboundRefused(PermissionDenied):
    default_code = "OUTBOUND_REFUSED"


class LocalPaths:
    """Folders of this host a platform admin may build from: below ``roots``, and neither
    inside nor around any of ``private`` (the data directory, the package store)."""

    def __init__(self, roots: Sequence[Path], private: Sequence[Path]) -> None:
        self.roots = [root.expanduser().resolve() for root in roots]
        self.private = [path.expanduser().resolve() for path in private]

    @property
    def enabled(self) -> bool:
        return bool(self.roots)

    def check(self, raw: str | Path) -> Path:
        """The folder ``raw`` names, symlinks resolved, or :class:`LocalPathRefused`."""
        if not self.roots:
            raise LocalPathRefused(
                "local sources are off on this control plane: the operator enables them "
                "below chosen folders with builds.local_source_roots",
                code="LOCAL_SOURCES_DISABLED",
            )
        path = Path(raw)
        if not path.is_absolute():
            raise LocalPathRefused(f"'{raw}' is not an absolute path", path=str(raw))
        resolved = path.resolve()
        for private in self.private:
            if resolved.is_relative_to(private) or private.is_relative_to(resolved):
                raise LocalPathRefused(
                    f"'{raw}' is or holds the control plane's own data: refused", path=str(raw)
                )
        if not any(resolved.is_relative_to(root) for root in self.roots):
            roots = ", ".join(str(root) for root in self.roots)
            raise LocalPathRefused(
                f"'{raw}' is outside the folders local sources may come from ({roots})",
                path=str(raw),
            )
        return resolved


def _kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _kind(address.ipv4_mapped)
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return None if address.is_global else "reserved"


class OutboundGuard:
    """Decides which addresses a user-aimed outbound call may reach.

    ``allow_private`` lets every non-public address through (a test rig, a laptop);
    ``allowed_networks`` lets through only those networks (an in-house Git server).
    ``purpose`` names the setting to change in refusals ("git host", "webhook").
    """

    def __init__(
        self,
        purpose: str,
        setting: str,
        *,
        allow_private: bool = False,
        allowed_networks: Sequence[IPNetwork] = (),
    ) -> None:
        self.purpose = purpose
        self.setting = setting
        self.allow_private = allow_private
        self.allowed_networks = list(allowed_networks)

    def check_address(self, host: str, address: IPAddress) -> None:
        kind = _kind(address)
        if kind is None or self.allow_private:
            return
        if any(address in network for network in self.allowed_networks):
            return
        shown = host if host == str(address) else f"'{host}' resolves to {address}, which"
        raise OutboundRefused(
            f"{self.purpose} refused: {shown} is a {kind} address "
            f"(an operator may allow it with {self.setting})",
            host=host,
            address=str(address),
            reason=kind,
        )

    def check_literal(self, url: str) -> None:
        """The checks that need no DNS: literal addresses and this host's own names. Cheap
        enough for request validation; :meth:`resolve` is the authoritative check."""
        host = urlsplit(url).hostname or scp_host(url)
        if not host:
            return
        if host.lower().rstrip(".") in _LOCAL_NAMES:
            self.check_address(host, ipaddress.ip_address("127.0.0.1"))
            return
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
        self.check_address(host, address)

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, all of them allowed, or :class:`OutboundRefused`.

        A host with one forbidden address among public ones is refused whole, so a resolver
        cannot pick the forbidden one later."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise OutboundRefused(
                f"{self.purpose} '{host}' does not resolve", code="OUTBOUND_UNRESOLVED", host=host
            ) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            self.check_address(host, ipaddress.ip_address(address.split("%", 1)[0]))
        return addresses


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that checks every address it hands out, so each connection a
    session opens, redirects included, goes through the guard after DNS resolution."""

    def __init__(self, guard: OutboundGuard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.guard.resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def scp_host(url: str) -> str | None:
    """The host of git's scp-like syntax (``git@github.com:org/repo.git``)."""
    if "://" in url or ":" not in url:
        return None
    head = url.split(":", 1)[0]
    return head.rsplit("@", 1)[-1] or None


def local_sources(settings: Settings) -> LocalPaths:
    """The folders platform admins may build from, as configured."""
    return LocalPaths(settings.builds.local_source_roots, [settings.data_dir, settings.package_dir])


def git_hosts(settings: Settings) -> OutboundGuard:
    """The guard for git remotes, as configured."""
    builds = settings.builds
    return OutboundGuard(
        "git host",
        "builds.allow_private_git_hosts or builds.allowed_git_networks",
        allow_private=builds.allow_private_git_hosts,
        allowed_networks=builds.allowed_git_networks,
    )
