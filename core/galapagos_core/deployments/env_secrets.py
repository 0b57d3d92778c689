"""Deployments' environment variables: values of secret-looking names are sealed at rest
(bound to their deployment and name) and opened only to render a workload."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from galapagos_core.kernel.audit import redact
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.deployments import Deployment


def secret_context(deployment_id: UUID, name: str) -> str:
    return f"deployment:{deployment_id}:env:{name}"


def is_secret(name: str) -> bool:
    return bool(redact({name: "x"})[name] != "x")


class EnvSecrets:
    def __init__(self, secrets: SecretBox) -> None:
        self.secrets = secrets

    def seal(self, deployment_id: UUID, values: dict[str, str]) -> dict[str, str]:
        return {
            name: self.secrets.seal(value, secret_context(deployment_id, name))
            if is_secret(name)
            else value
            for name, value in values.items()
        }

    def open(self, deployment_id: UUID, values: dict[str, str]) -> dict[str, str]:
        return {
            name: self.secrets.open(value, secret_context(deployment_id, name))
            if is_secret(name)
            else value
            for name, value in values.items()
        }

    def of(self, deployment: Deployment) -> dict[str, str]:
        """A deployment's variables, opened (to carry them over to a new deployment)."""
        return self.open(deployment.id, deployment.environment_variables)

    def open_spec(self, payload: dict[str, Any]) -> WorkloadSpec:
        """A stored workload spec, ready to render: its secret values opened."""
        spec = WorkloadSpec.model_validate(payload)
        return spec.with_opened_env(self.open(UUID(spec.deployment_id), spec.env_vars))
