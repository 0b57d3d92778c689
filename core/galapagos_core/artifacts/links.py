"""Signed, expiring links to stored packages: what clusters fetch as Ray's ``working_dir``.

A link carries its expiry and an HMAC-SHA256 over the package's sha256 and that expiry,
under a key derived from the platform's secret keys, so only the control plane can mint
one and nobody can stretch one. Expiries fall on a grid of half the lifetime: every link
minted within one half-period is the same URL (a workload's config does not churn) and still
has at least half its lifetime ahead of it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from enum import Enum
from urllib.parse import urlencode

from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.secrets import SecretBox

_PURPOSE = "galapagos package links"


class LinkCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


class PackageLinks:
    def __init__(
        self,
        base_url: str,
        keys: list[bytes],
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.half = max(ttl_seconds // 2, 1)
        self.clock = clock

    def url(self, sha256: str) -> str:
        """The link to the package with digest ``sha256``, valid for at least half the TTL."""
        expires = (int(self.clock()) // self.half + 2) * self.half
        query = urlencode(
            {"expires": expires, "signature": self._sign(self.keys[0], sha256, expires)}
        )
        return f"{self.base_url}/packages/{sha256}.zip?{query}"

    def check(self, sha256: str, expires: str, signature: str) -> LinkCheck:
        if not expires.isdigit() or len(expires) > 12:
            return LinkCheck.INVALID
        if not any(
            hmac.compare_digest(self._sign(key, sha256, int(expires)), signature)
            for key in self.keys
        ):
            return LinkCheck.INVALID
        return LinkCheck.VALID if int(expires) > self.clock() else LinkCheck.EXPIRED

    @staticmethod
    def _sign(key: bytes, sha256: str, expires: int) -> str:
        return hmac.new(key, f"{sha256}:{expires}".encode(), hashlib.sha256).hexdigest()


def package_links(settings: Settings, secrets: SecretBox) -> PackageLinks:
    """Links under the address clusters reach this control plane at (``api.public_url``)."""
    api = settings.api
    base = (
        api.public_url or f"http://{'127.0.0.1' if api.host == '0.0.0.0' else api.host}:{api.port}"
    )
    return PackageLinks(
        base, secrets.derived_keys(_PURPOSE), settings.builds.package_link_ttl_seconds
    )
