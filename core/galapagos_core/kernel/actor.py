"""Who is acting, and from where: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from galapagos_core.kernel.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: UUID | None  # None for the platform itself (see :meth:`system`)
    username: str
    is_admin: bool
    token_id: UUID | None = None
    request_id: str | None = None
    source_ip: str | None = None

    @classmethod
    def system(cls, part: str) -> Actor:
        """The platform acting on its own (the worker, the CLI), so its changes are audited
        under a name too: ``system:worker``, ``system:cli``."""
        return cls(user_id=None, username=f"system:{part}", is_admin=True)

    @property
    def account_id(self) -> UUID:
        """The user acting, for what only people have (tokens, memberships)."""
        if self.user_id is None:
            raise PermissionDenied(f"{self.username} has no account", code="NO_ACCOUNT")
        return self.user_id

    @property
    def visibility(self) -> UUID | None:
        """The user whose memberships bound what this actor sees; None means everything."""
        return None if self.is_admin else self.user_id


# The command line acting on its own (token issuing, key rotation).
CLI = Actor.system("cli")
