"""Each Ray environment's LLM router (galapagos_runtime.llm_router), as the database wants it:
one application answering every virtual model placed on the environment, at ``/_llm/v1``.

On every reconcile pass its configuration is made afresh from the database: the placed
models and their backends (an external endpoint with its API key opened, a serve of the
project where it runs on that environment), and the keys its callers present: the SHA-256 of
every live Galápagos token of an admin or of a member of those projects. A change (a weight, a
backend, a new or revoked token) reconfigures the running router; nothing of it is stored.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from galapagos_core.kernel.config import LlmSettings
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.virtual_models.upstreams import endpoint_of, targets
from galapagos_core.workloads.spec import Observed, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import (
    EnvironmentBackend,
    VirtualModelStatus,
    WorkloadState,
)
from galapagos_model.queries import identity as identity_queries
from galapagos_model.queries import virtual_models as vm_queries
from galapagos_model.virtual_models import VirtualModel

log = logging.getLogger("galapagos.llm")
# A serve's name cannot have '_': neither the application's name nor its route can be a
# serve's.
LLM_ROUTER = "_llm_router"
ROUTE = "/_llm"


class LlmRouters:
    """The reconcile pass's part for virtual models on Ray environments."""

    def __init__(self, settings: LlmSettings, secrets: SecretBox) -> None:
        self.settings = settings
        self.secrets = secrets

    async def prepare(self, environment: Environment) -> list[WorkloadSpec]:
        if environment.backend != EnvironmentBackend.RAY:
            return []
        placements = await vm_queries.placed_in(environment.id)
        if not placements:
            return []
        models = [p.virtual_model for p in placements]
        config = {
            "models": [
                await self._model(model, environment)
                for model in models
                if model.status == VirtualModelStatus.ACTIVE
            ],
            "keys": await self._keys(models),
            "timeout_seconds": self.settings.timeout_seconds,
            "deadline_seconds": self.settings.deadline_seconds,
            "cooldown": {
                "allowed_fails": self.settings.allowed_fails,
                "window_seconds": self.settings.window_seconds,
                "cooldown_seconds": self.settings.cooldown_seconds,
            },
        }
        spec = WorkloadSpec(
            name=LLM_ROUTER,
            project="",
            serve="",
            environment=environment.name,
            route_prefix=ROUTE,
            min_replicas=self.settings.router_replicas,
            max_replicas=self.settings.router_replicas,
            cpus=self.settings.router_cpus,
            llm_routing=config,
        )
        return [spec]

    async def _model(self, model: VirtualModel, environment: Environment) -> dict[str, Any]:
        backends = [
            {
                "id": t.key,
                "name": t.name,
                "url": t.url,
                "model": t.model or model.name,
                "weight": t.weight,
                "priority": t.priority,
                "api_key": t.api_key,
            }
            for t in await targets(model, environment, self.secrets)
        ]
        return {
            "name": model.name,
            "project": model.project.name,
            "created": int(model.created_at.timestamp()),
            "backends": backends,
        }

    async def _keys(self, models: list[VirtualModel]) -> dict[str, Any]:
        now = datetime.now(UTC)
        grants = await identity_queries.grants_for(list({m.project_id for m in models}), now)
        return {
            g.token_hash: {
                "projects": g.projects,
                "expires_at": g.expires_at.timestamp() if g.expires_at else None,
            }
            for g in grants
        }

    async def observed(self, environment: Environment, seen: dict[str, Observed | None]) -> None:
        if LLM_ROUTER not in seen:
            return
        found = seen[LLM_ROUTER]
        if found is None:
            state, endpoint, message = WorkloadState.DEPLOYING, None, None
        else:
            state, message = found.state, found.message
            endpoint = endpoint_of(found.url) if found.url else None
        await vm_queries.record_router(environment.id, state, endpoint, message)
