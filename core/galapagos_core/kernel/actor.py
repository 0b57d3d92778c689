"""Who is acting, and from where: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    user_id: UUID
    username: str
    is_admin: bool
    token_id: UUID | None = None
    request_id: str | None = None
    source_ip: str | None = None

    @property
    def visibility(self) -> UUID | None:
        """The user whose memberships bound what this actor sees; None means everything."""
        return None if self.is_admin else self.user_id
