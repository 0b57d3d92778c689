"""Kubernetes clusters: registered with a kubeconfig that is stored encrypted, never returned."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr
from tortoise.exceptions import IntegrityError

from galapagos_core.catalog.errors import cluster_not_found
from galapagos_core.kernel import audit
from galapagos_core.kernel.access import require_admin
from galapagos_core.kernel.actor import CLI, Actor
from galapagos_core.kernel.errors import Conflict, InvalidInput
from galapagos_core.kernel.names import ResourceName
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.kernel.transactions import transactional
from galapagos_model.catalog import Cluster
from galapagos_model.queries import clusters as cluster_queries
from galapagos_model.queries.paging import Page, PageRequest

_MAX_KUBECONFIG = 256 * 1024


class ClusterCreate(BaseModel):
    name: ResourceName
    kubeconfig: SecretStr = Field(
        max_length=65536, description="the kubeconfig document (YAML or JSON)"
    )


class ClusterUpdate(BaseModel):
    kubeconfig: SecretStr = Field(max_length=65536)


def kubeconfig_context(cluster_name: str) -> str:
    return f"cluster:{cluster_name}:kubeconfig"


def parse_kubeconfig(text: str) -> tuple[dict[str, Any], str]:
    """The kubeconfig as a dict and its current context's API server URL."""
    invalid = [{"loc": ["body", "kubeconfig"], "msg": "", "type": "value_error"}]
    if len(text) > _MAX_KUBECONFIG:
        invalid[0]["msg"] = "larger than 256 KiB"
        raise InvalidInput("the kubeconfig is too large", errors=invalid)
    try:
        document = yaml.safe_load(text)
        contexts = {c["name"]: c["context"] for c in document.get("contexts", [])}
        context = contexts[document["current-context"]]
        clusters = {c["name"]: c["cluster"] for c in document.get("clusters", [])}
        server = str(clusters[context["cluster"]]["server"])
    except (yaml.YAMLError, AttributeError, KeyError, TypeError):
        invalid[0]["msg"] = "needs clusters, contexts and a current-context that names them"
        raise InvalidInput("the kubeconfig is not usable", errors=invalid) from None
    return document, server


class ClusterService:
    def __init__(self, secrets: SecretBox) -> None:
        self.secrets = secrets

    async def list(self, actor: Actor, page: PageRequest) -> Page[Cluster]:
        require_admin(actor, "list clusters")
        return await cluster_queries.clusters(page)

    async def get(self, actor: Actor, name: str) -> Cluster:
        require_admin(actor, "read clusters")
        cluster = await cluster_queries.cluster_by_name(name)
        if cluster is None:
            raise cluster_not_found(name)
        return cluster

    @transactional
    async def create(self, actor: Actor, spec: ClusterCreate) -> Cluster:
        require_admin(actor, "register clusters")
        text = spec.kubeconfig.get_secret_value()
        _, server = parse_kubeconfig(text)
        try:
            cluster = await cluster_queries.create_cluster(
                name=spec.name,
                api_server_url=server,
                kubeconfig_encrypted=self.secrets.seal(text, kubeconfig_context(spec.name)),
            )
        except IntegrityError:
            raise Conflict(
                f"cluster '{spec.name}' already exists",
                code="CLUSTER_ALREADY_EXISTS",
                cluster=spec.name,
            ) from None
        await audit.record(
            actor,
            "cluster.create",
            "cluster",
            resource_id=cluster.id,
            resource_name=spec.name,
            after={"name": spec.name, "api_server_url": server},
        )
        return cluster

    @transactional
    async def update(self, actor: Actor, name: str, spec: ClusterUpdate) -> Cluster:
        """Replace the kubeconfig; clients built from the old one are rebuilt."""
        require_admin(actor, "change clusters")
        cluster = await cluster_queries.cluster_for_update(name)
        if cluster is None:
            raise cluster_not_found(name)
        text = spec.kubeconfig.get_secret_value()
        _, server = parse_kubeconfig(text)
        before = {"api_server_url": cluster.api_server_url}
        await cluster_queries.replace_kubeconfig(
            cluster, server, self.secrets.seal(text, kubeconfig_context(name))
        )
        await audit.record(
            actor,
            "cluster.update",
            "cluster",
            resource_id=cluster.id,
            resource_name=name,
            before=before,
            after={"api_server_url": server},
        )
        return cluster

    @transactional
    async def delete(self, actor: Actor, name: str) -> None:
        require_admin(actor, "delete clusters")
        cluster = await cluster_queries.cluster_for_update(name)
        if cluster is None:
            raise cluster_not_found(name)
        try:
            await cluster_queries.delete_cluster(cluster)
        except IntegrityError:
            raise Conflict(
                f"cluster '{name}' is used by environments: move them first",
                code="CLUSTER_IN_USE",
                cluster=name,
            ) from None
        await audit.record(
            actor, "cluster.delete", "cluster", resource_id=cluster.id, resource_name=name
        )

    def kubeconfig(self, cluster: Cluster) -> dict[str, Any]:
        document, _ = parse_kubeconfig(
            self.secrets.open(cluster.kubeconfig_encrypted, kubeconfig_context(cluster.name))
        )
        return document

    @transactional
    async def rotate(self, actor: Actor = CLI) -> int:
        """Re-seal every kubeconfig under the current key; how many changed."""
        changed = 0
        for cluster in await cluster_queries.all_for_update():
            if self.secrets.needs_rotation(cluster.kubeconfig_encrypted):
                context = kubeconfig_context(cluster.name)
                plain = self.secrets.open(cluster.kubeconfig_encrypted, context)
                await cluster_queries.reseal_kubeconfig(cluster, self.secrets.seal(plain, context))
                await audit.record(
                    actor,
                    "cluster.reseal",
                    "cluster",
                    resource_id=cluster.id,
                    resource_name=cluster.name,
                    after={"key": self.secrets.current},
                )
                changed += 1
        return changed
