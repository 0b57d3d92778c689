"""What the KubeRay and KServe backends share: one custom resource per workload, listed by
label (one list call per kind and pass), created, merge-patched and deleted
(galapagos_core.workloads.backends.kube_objects)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.naming import MANAGED_BY, label_value
from galapagos_core.workloads.backends.kube_objects import KubeObjects, Resource
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadSpec, contains
from galapagos_model.catalog import Environment

SPEC_HASH = "galapagos.io/spec-hash"
_PARALLEL_CALLS = 16  # writes in flight at once against one API server


# The custom resources the platform creates.
INFERENCE_SERVICE = Resource(
    "serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"
)
RAY_SERVICE = Resource("ray.io", "v1", "rayservices", "RayService")
HTTP_ROUTE = Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")


def namespace_of(environment: Environment) -> str:
    return str(environment.env_configs.get("namespace") or "default")


def node_selector(environment: Environment, spec: WorkloadSpec) -> dict[str, str]:
    """Pods land on the capacity asked for: on-demand means on-demand, never spot."""
    key = str(environment.env_configs.get("capacity_label") or "karpenter.sh/capacity-type")
    selector = {key: spec.node_capacity.value}
    if spec.llm is not None:  # a GPU instance: its instance type's node pool
        selector.update(spec.llm.node_selector)
    elif spec.gpu_type:
        selector["nvidia.com/gpu.product"] = spec.gpu_type
    return selector


def tolerations(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """What lets pods onto a GPU instance's node pool (its taints)."""
    return list(spec.llm.tolerations) if spec.llm is not None else []


def resources(spec: WorkloadSpec) -> dict[str, Any]:
    """A container's requests and limits (GPUs as ``nvidia.com/gpu``)."""
    requests: dict[str, Any] = {"cpu": f"{spec.cpus:g}", "memory": f"{spec.memory_gib:g}Gi"}
    limits = dict(requests)
    if spec.gpus:
        limits["nvidia.com/gpu"] = str(spec.gpus)
        requests["nvidia.com/gpu"] = str(spec.gpus)
    return {"requests": requests, "limits": limits}


class CustomResourceBackend:
    """A backend whose workloads are custom resources (of the kinds in ``resources``)."""

    resources: tuple[Resource, ...]

    def __init__(self, clients: KubeClients) -> None:
        self.clients = clients

    def render(self, environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
        raise NotImplementedError

    def read_status(self, live: dict[str, Any]) -> tuple[Any, str | None, str | None]:
        """(WorkloadState, url, message) from a live object."""
        raise NotImplementedError

    def resource_for(self, spec: WorkloadSpec) -> Resource:
        """The kind of object ``spec`` renders to."""
        return self.resources[0]

    def manifest(self, environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
        body = self.render(environment, spec)
        body["metadata"].setdefault("annotations", {})[SPEC_HASH] = spec.digest()
        return body

    async def _objects(self, environment: Environment) -> KubeObjects:
        if environment.cluster is None:
            raise BackendError(f"environment '{environment.name}' has no cluster")
        api_client = await self.clients.for_cluster(environment.cluster)
        return KubeObjects(api_client, namespace_of(environment))

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        """The custom resources' own status is their readiness (Kubernetes probes them)."""
        objects = await self._objects(environment)
        found: dict[str, Observed] = {}
        for r in self.resources:
            for item in await self._list(objects, environment, r):
                metadata = item.get("metadata", {})
                state, url, message = self.read_status(item)
                found[metadata["name"]] = Observed(
                    name=metadata["name"],
                    state=state,
                    spec_hash=(metadata.get("annotations") or {}).get(SPEC_HASH),
                    live=item,
                    url=url,
                    message=message,
                    external_id=metadata.get("uid"),
                )
        return found

    async def _list(
        self, objects: KubeObjects, environment: Environment, r: Resource
    ) -> list[dict[str, Any]]:
        """The environment's objects of kind ``r`` (found by label)."""
        selector = (
            f"{MANAGED_BY}=galapagos,galapagos.io/environment={label_value(environment.name)}"
        )
        return await objects.list(r, selector)

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        wanted = self.manifest(environment, spec)["spec"]
        return observed.spec_hash == spec.digest() and contains(observed.live.get("spec"), wanted)

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        objects = await self._objects(environment)
        calls = asyncio.Semaphore(_PARALLEL_CALLS)

        async def one(spec: WorkloadSpec) -> None:
            r, body = self.resource_for(spec), self.manifest(environment, spec)
            async with calls:
                if await objects.create(r, body):
                    return
                live = await objects.get(r, spec.name)
                if live is None:  # deleted meanwhile: the next pass creates it
                    raise BackendError(f"{r.kind} {spec.name} vanished")
                await objects.update(r, body, live)

        await asyncio.gather(*(one(spec) for spec in specs))

    async def delete(self, environment: Environment, names: list[str]) -> None:
        """Names are unique across the kinds: each is deleted as the first kind that has it
        (absent everywhere is fine)."""
        objects = await self._objects(environment)
        for name in names:
            for r in self.resources:
                if await objects.delete(r, name):
                    break


def status_is_current(live: dict[str, Any]) -> bool:
    """Whether the status describes the spec as it is: right after an update it still
    describes the previous generation, whose readiness (or failure) says nothing of this one."""
    generation = (live.get("metadata") or {}).get("generation")
    observed = (live.get("status") or {}).get("observedGeneration")
    return not (isinstance(generation, int) and isinstance(observed, int) and observed < generation)


def condition(live: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for item in (live.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return None
