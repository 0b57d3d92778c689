"""Where a virtual model's backend is reached from an environment, and its API key opened:
what the LLM router (Ray) and the AI Gateway objects (Kubernetes) are both made from."""

from __future__ import annotations

from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.virtual_models.service import api_key_context
from galapagos_model.catalog import Environment
from galapagos_model.enums import BackendKind, WorkloadState
from galapagos_model.queries import workloads as workload_queries
from galapagos_model.virtual_models import VirtualModelBackend


def endpoint_of(url: str) -> str:
    """The OpenAI base URL (``base_url``) of what answers at ``url``."""
    return f"{url.rstrip('/')}/v1"


async def upstream_url(backend: VirtualModelBackend, environment: Environment) -> str | None:
    """The backend's OpenAI base URL from ``environment``, or None while nothing answers for
    it there (a serve not running there; a catalog model until GPU instances serve it)."""
    if backend.kind == BackendKind.EXTERNAL:
        return backend.base_url
    if backend.kind == BackendKind.SERVE and backend.serve_id is not None:
        workload = await workload_queries.route_owner(environment.id, backend.serve_id)
        if workload is not None and workload.current_state == WorkloadState.READY and workload.url:
            return endpoint_of(workload.url)
    return None


def api_key(secrets: SecretBox, backend: VirtualModelBackend) -> str | None:
    """The backend's API key, opened (in memory only), or None."""
    if backend.api_key_encrypted is None:
        return None
    return secrets.open(backend.api_key_encrypted, api_key_context(backend.id))
