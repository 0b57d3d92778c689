"""Kubernetes clusters."""

from __future__ import annotations

from typing import Any

from galapagos_model.catalog import Cluster
from galapagos_model.queries.paging import Page, PageRequest, paginate


async def clusters(request: PageRequest) -> Page[Cluster]:
    return await paginate(Cluster.all().order_by("name"), request)


async def cluster_by_name(name: str) -> Cluster | None:
    return await Cluster.get_or_none(name=name)


async def cluster_for_update(name: str) -> Cluster | None:
    return await Cluster.filter(name=name).select_for_update().first()


async def create_cluster(**values: Any) -> Cluster:
    return await Cluster.create(**values)


async def all_for_update() -> list[Cluster]:
    return await Cluster.all().select_for_update()


async def record_health(cluster: Cluster, **values: Any) -> None:
    await Cluster.filter(id=cluster.id).update(**values)


async def all_clusters() -> list[Cluster]:
    return await Cluster.all().order_by("name")


async def replace_kubeconfig(cluster: Cluster, api_server_url: str, sealed: str) -> None:
    """A new kubeconfig (sealed) and the API server it names; clients are rebuilt from it."""
    cluster.api_server_url, cluster.kubeconfig_encrypted = api_server_url, sealed
    await cluster.save(update_fields=["api_server_url", "kubeconfig_encrypted", "updated_at"])


async def reseal_kubeconfig(cluster: Cluster, sealed: str) -> None:
    cluster.kubeconfig_encrypted = sealed
    await cluster.save(update_fields=["kubeconfig_encrypted", "updated_at"])


async def delete_cluster(cluster: Cluster) -> None:
    """Gone, unless an environment still names it (the foreign key refuses)."""
    await cluster.delete()
