"""The backend-neutral description of what runs for a deployment, and what a backend reports.

Every backend renders a :class:`WorkloadSpec` into its own object (a Ray Serve application,
a RayService, an InferenceService) and reports what it sees as :class:`Observed`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from galapagos_model.catalog import Environment
from galapagos_model.enums import ArtifactKind, NodeCapacityType, WorkloadState


class WorkloadSpec(BaseModel):
    name: str  # the object's name on the backend (galapagos_core.naming)
    project: str
    serve: str
    environment: str
    deployment_id: str
    route_prefix: str
    artifact_kind: ArtifactKind
    artifact_version: str
    package_url: str | None = None
    import_path: str | None = None
    image_url: str | None = None
    model_uri: str | None = None
    model_format: str | None = None
    min_replicas: int = 1
    max_replicas: int = 1
    autoscaling_target: int | None = None
    cpus: float = 1.0
    memory_gib: float = 1.0
    gpus: int = 0
    gpu_type: str | None = None
    node_capacity: NodeCapacityType = NodeCapacityType.SPOT
    env_vars: dict[str, str] = {}

    def digest(self) -> str:
        """A stable hash of everything that should make the backend change."""
        content = self.model_dump(mode="json", exclude={"deployment_id"})
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def labels(self) -> dict[str, str]:
        from galapagos_core.naming import managed_labels

        return managed_labels(
            project=self.project,
            serve=self.serve,
            environment=self.environment,
            deployment=self.deployment_id,
        )


@dataclass(frozen=True)
class Observed:
    """What the backend says about one managed object; ``live`` is the object as found."""

    name: str
    state: WorkloadState
    spec_hash: str | None  # the hash of the spec it was applied from (its marker)
    live: dict[str, Any]
    url: str | None = None
    message: str | None = None
    external_id: str | None = None


class BackendError(Exception):
    """The backend could not be reached or refused a call; the reconciler retries later."""


class WorkloadBackend(Protocol):
    """Ray, KubeRay or KServe, for one environment."""

    async def observe(self, environment: Environment) -> dict[str, Observed]:
        """Every object this platform manages there (found by label), by name."""

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        """Whether the live object still is what ``spec`` renders to (no drift)."""

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        """Create or update these objects (idempotent)."""

    async def delete(self, environment: Environment, names: list[str]) -> None:
        """Remove these objects (idempotent: absent ones are fine)."""
