"""Deployments' environment variables: values of secret-looking names are sealed at rest
(bound to their deployment and name) and opened only to render a workload. A workload gets
its environment's variables, then its deployment's (which win)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_core.catalog.environments import variables_owner
from galapagos_core.kernel import variables
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Deployment


def owner(deployment_id: UUID) -> str:
    return f"deployment:{deployment_id}"


class EnvSecrets:
    def __init__(self, secrets: SecretBox) -> None:
        self.secrets = secrets

    def seal(self, deployment_id: UUID, values: dict[str, str]) -> dict[str, str]:
        return variables.seal(self.secrets, owner(deployment_id), values)

    def open(self, deployment_id: UUID, values: dict[str, str]) -> dict[str, str]:
        return variables.unseal(self.secrets, owner(deployment_id), values)

    def of(self, deployment: Deployment) -> dict[str, str]:
        """A deployment's variables, opened (to carry them over to a new deployment)."""
        return self.open(deployment.id, deployment.environment_variables)

    def of_environment(self, environment: Environment) -> dict[str, str]:
        """The variables every workload of ``environment`` gets, opened."""
        stored = environment.variables or {}
        return variables.unseal(self.secrets, variables_owner(environment.id), stored)

    def open_spec(self, payload: dict[str, Any]) -> WorkloadSpec:
        """A stored workload spec, ready to render: its secret values opened."""
        spec = WorkloadSpec.model_validate(payload)
        if spec.deployment_id is None:  # a router: no variables of its own
            return spec
        return spec.with_opened_env(self.open(UUID(spec.deployment_id), spec.env_vars))
