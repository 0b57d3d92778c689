"""What every builder implements, and what it tells the worker after each step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import ArtifactKind, BuilderKind


class TransientBuildError(Exception):
    """The builder could not be reached or answered 5xx: the worker retries with backoff."""


class BuildFailure(Exception):
    """The build itself failed; the message is the job's error, shown to users."""


@dataclass(frozen=True)
class InProgress:
    """The build goes on elsewhere; ask again after ``poll_after`` seconds."""

    task_id: str | None = None
    poll_after: float | None = None
    logs: list[str] = field(default_factory=list)
    external_logs_url: str | None = None


@dataclass(frozen=True)
class Built:
    """The build produced an artifact with these fields."""

    kind: ArtifactKind
    image_url: str | None = None
    package_sha256: str | None = None
    package_size: int | None = None
    import_path: str | None = None
    requirements: list[str] = field(default_factory=list)
    health_path: str | None = None
    logs: list[str] = field(default_factory=list)


Outcome = InProgress | Built


class Builder(Protocol):
    kind: BuilderKind

    async def advance(self, job: ArtifactBuilderJob) -> Outcome:
        """Take the job one step further: start it, poll it, or run it to the end.

        Raises :class:`BuildFailure` when the build failed and :class:`TransientBuildError`
        when it could not tell (network trouble, builder errors).
        """

    async def cancel(self, job: ArtifactBuilderJob) -> None:
        """Stop the build where the builder allows it (best effort)."""

    async def recover(self) -> None:
        """Clean up what workers that died left behind; called when a worker starts."""
