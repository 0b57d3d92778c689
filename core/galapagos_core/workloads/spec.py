"""The backend-neutral description of what runs for a deployment, and what a backend reports.

Every backend renders a :class:`WorkloadSpec` into its own object (a Ray Serve application,
a RayService, an InferenceService) and reports what it sees as :class:`Observed`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, PrivateAttr

from galapagos_model.catalog import Environment
from galapagos_model.enums import ArtifactKind, NodeCapacityType, WorkloadState


class LlmEngine(BaseModel):
    """What a GPU instance runs: a model served by an engine on the GPUs of one node pool."""

    model_name: str  # the name callers send (the catalog's model id)
    model_source: str  # where the weights come from (a Hugging Face id)
    engine: str = "vllm"  # or "standin": a small CPU stand-in that answers like one (tests)
    engine_args: dict[str, Any] = {}
    accelerator: str  # the GPU model ("A10G", "H100")
    gpu_count: int
    # The instance type's node pool.
    node_selector: dict[str, str] = {}
    tolerations: list[dict[str, Any]] = []


class WorkloadSpec(BaseModel):
    name: str  # the object's name on the backend (galapagos_core.kernel.naming)
    project: str
    serve: str
    environment: str
    deployment_id: str | None = None  # None for a router: it outlives deployments
    # None: no route of its own (a traffic variant, reached through its serve's router).
    route_prefix: str | None
    artifact_kind: ArtifactKind | None = None  # None for a router
    artifact_version: str | None = None
    package_sha256: str | None = None  # rendered as a signed link (builds.links)
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
    # As stored: values of secret-looking names are sealed (galapagos_core.kernel.secrets).
    env_vars: dict[str, str] = {}
    # The package's requirements, installed where it runs (empty: the image has them).
    pip: list[str] = []
    # What the deploy asked of the user's application: its builder's arguments, and Serve
    # options per deployment name (Ray's own shape; they win over the infra config's).
    app_args: dict[str, Any] = {}
    deployment_options: dict[str, dict[str, Any]] = {}
    # The route that says the app answers (None: /healthcheck where the app has one).
    health_path: str | None = None
    # A traffic variant (its id, for labels: promoting it renames it, nothing else changes),
    # taking requests from its serve's router.
    variant: str | None = None
    # The router of a serve with traffic variants: its routing table
    # (galapagos_runtime.routing); the artifact fields then describe the stable variant.
    routing: dict[str, Any] | None = None
    # An environment's LLM router (galapagos_runtime.llm_router): its configuration, API keys
    # opened. Never stored: made afresh on every reconcile pass.
    llm_routing: dict[str, Any] | None = None
    # A GPU instance (galapagos_core.gpu.reconcile). Never stored: made on every pass.
    llm: LlmEngine | None = None
    _opened_env: dict[str, str] | None = PrivateAttr(default=None)

    def with_opened_env(self, values: dict[str, str]) -> WorkloadSpec:
        """A copy that renders ``values`` as its environment (the hash stays the stored one)."""
        copy = self.model_copy()
        copy._opened_env = values
        return copy

    @property
    def environment_values(self) -> dict[str, str]:
        """What the backend sets in the process environment."""
        return self._opened_env if self._opened_env is not None else self.env_vars

    def digest(self) -> str:
        """A stable hash of everything that should make the backend change. Fields at their
        defaults are left out, so a field added later changes no running workload's hash.
        Left out too, so that nothing is redeployed when they change: a router's table or an
        LLM router's configuration (they reconfigure the router), and whether and where the
        application has a route of its own (a serve's application becoming its stable traffic
        variant keeps running)."""
        content = self.model_dump(
            mode="json",
            exclude={"deployment_id", "routing", "llm_routing", "route_prefix", "variant"},
            exclude_defaults=True,
        )
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def labels(self) -> dict[str, str]:
        from galapagos_core.kernel.naming import managed_labels

        return managed_labels(
            project=self.project,
            serve=self.serve,
            environment=self.environment,
            deployment=self.deployment_id,
            variant=self.variant,
        )


def digest_of(stored: dict[str, Any]) -> str:
    """The digest of a spec as stored (what the live object's marker is compared with)."""
    return WorkloadSpec.model_validate(stored).digest()


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
    # Running, but its health route did not answer 2xx: why (status and body).
    unhealthy: str | None = None


class BackendError(Exception):
    """The backend could not be reached or refused a call; the reconciler retries later."""


class WorkloadBackend(Protocol):
    """Ray, KubeRay or KServe, for one environment."""

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        """Every object this platform manages there (found by label), by name; those named in
        ``probe`` have their health route asked where the backend can reach it."""

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        """Whether the live object still is what ``spec`` renders to (no drift)."""

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        """Create or update these objects (idempotent)."""

    async def delete(self, environment: Environment, names: list[str]) -> None:
        """Remove these objects (idempotent: absent ones are fine)."""


def contains(live: Any, wanted: Any) -> bool:
    """``wanted``'s keys and values all appear in ``live``: backends add defaults of their
    own, so a live object matches when everything the platform set is still there."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(contains(live.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(contains(a, b) for a, b in zip(live, wanted, strict=True))
        )
    return bool(live == wanted)
