"""Where a virtual model's backend is reached from an environment, and its API key opened:
what the LLM router (Ray) and the AI Gateway objects (Kubernetes) are both made from."""

from __future__ import annotations

from dataclasses import dataclass

from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.virtual_models.service import api_key_context
from galapagos_model.catalog import Environment
from galapagos_model.enums import BackendKind, VirtualModelStatus, WorkloadState
from galapagos_model.queries import gpu as gpu_queries
from galapagos_model.queries import virtual_models as vm_queries
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.virtual_models import VirtualModel, VirtualModelBackend


@dataclass(frozen=True)
class Target:
    """One place a virtual model's requests go: a backend, or (a catalog model) each of its
    READY GPU instances, which share the backend's weight."""

    key: str  # the backend's id, and the instance's for a model's instance
    name: str  # the backend's name, and the instance's
    url: str  # its OpenAI base URL
    weight: int
    priority: int
    model: str | None  # the model name sent upstream (None: the virtual one)
    api_key: str | None  # opened, in memory only


def endpoint_of(url: str) -> str:
    """The OpenAI base URL (``base_url``) of what answers at ``url``."""
    return f"{url.rstrip('/')}/v1"


def shares(weight: int, parts: int) -> list[int]:
    """``weight`` split into ``parts`` whole shares as even as they can be (largest first)."""
    return [weight // parts + (1 if i < weight % parts else 0) for i in range(parts)]


async def targets(
    model: VirtualModel, environment: Environment, secrets: SecretBox
) -> list[Target]:
    """Where ``model``'s active backends are answered from ``environment`` now, in their
    order."""
    found: list[Target] = []
    for backend in await vm_queries.backends_of(model.id):
        if backend.status == VirtualModelStatus.ACTIVE:
            found.extend(await _targets(backend, model, environment, secrets))
    return found


async def _targets(
    backend: VirtualModelBackend, model: VirtualModel, environment: Environment, secrets: SecretBox
) -> list[Target]:
    """Nothing while nothing answers for ``backend`` there (its serve not running there; no
    READY instance of its catalog model in the virtual model's project on that
    environment)."""
    key, name, model_name = str(backend.id), backend.name, backend.model_name_override
    rest = (backend.priority, model_name, api_key(secrets, backend))
    if backend.kind == BackendKind.EXTERNAL and backend.base_url:
        return [Target(key, name, backend.base_url, backend.weight, *rest)]
    if backend.kind == BackendKind.SERVE and backend.serve_id is not None:
        workload = await workload_queries.route_owner(environment.id, backend.serve_id)
        if workload is not None and workload.current_state == WorkloadState.READY and workload.url:
            return [Target(key, name, endpoint_of(workload.url), backend.weight, *rest)]
    if backend.kind == BackendKind.MODEL and backend.model_id:
        found = await gpu_queries.ready_of(backend.model_id, model.project_id, environment.id)
        tier = (backend.priority, model_name or backend.model_id, None)  # served under its id
        return [
            Target(f"{key}/{i.id}", f"{name}/{i.name}", i.endpoint, weight, *tier)
            for i, weight in zip(found, shares(backend.weight, len(found)), strict=True)
            if i.endpoint
        ]
    return []


def api_key(secrets: SecretBox, backend: VirtualModelBackend) -> str | None:
    """The backend's API key, opened (in memory only), or None."""
    if backend.api_key_encrypted is None:
        return None
    return secrets.open(backend.api_key_encrypted, api_key_context(backend.id))
