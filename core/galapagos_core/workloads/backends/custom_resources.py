"""What the KubeRay and KServe backends share: one custom resource per workload, listed by
label (one list call per kind and pass), created, merge-patched and deleted with
kubernetes-asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.naming import MANAGED_BY, label_value
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadSpec, contains
from galapagos_model.catalog import Environment

SPEC_HASH = "galapagos.io/spec-hash"
_PARALLEL_CALLS = 16  # writes in flight at once against one API server
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


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

    async def _api(self, environment: Environment) -> client.CustomObjectsApi:
        if environment.cluster is None:
            raise BackendError(f"environment '{environment.name}' has no cluster")
        return client.CustomObjectsApi(await self.clients.for_cluster(environment.cluster))

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        """The custom resources' own status is their readiness (Kubernetes probes them)."""
        api = await self._api(environment)
        found: dict[str, Observed] = {}
        for r in self.resources:
            for item in await self._list(api, environment, r):
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
        self, api: client.CustomObjectsApi, environment: Environment, r: Resource
    ) -> list[dict[str, Any]]:
        """The environment's objects of kind ``r`` (found by label)."""
        selector = (
            f"{MANAGED_BY}=galapagos,galapagos.io/environment={label_value(environment.name)}"
        )
        try:
            listing = await api.list_namespaced_custom_object(
                r.group, r.version, namespace_of(environment), r.plural, label_selector=selector
            )
        except (ApiException, aiohttp.ClientError) as exc:
            raise BackendError(f"listing {r.plural}: {exc}") from exc
        return list(listing.get("items", []))

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        wanted = self.manifest(environment, spec)["spec"]
        return observed.spec_hash == spec.digest() and contains(observed.live.get("spec"), wanted)

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        api = await self._api(environment)
        namespace = namespace_of(environment)
        calls = asyncio.Semaphore(_PARALLEL_CALLS)

        async def one(spec: WorkloadSpec) -> None:
            r, body = self.resource_for(spec), self.manifest(environment, spec)
            async with calls:
                try:
                    await api.create_namespaced_custom_object(
                        r.group, r.version, namespace, r.plural, body
                    )
                except ApiException as exc:
                    if exc.status != 409:
                        raise BackendError(f"creating {r.kind} {spec.name}: {exc.reason}") from exc
                    live = await self._get(api, r, namespace, spec.name)
                    if live is None:  # deleted meanwhile: the next pass creates it
                        raise BackendError(f"{r.kind} {spec.name} vanished") from exc
                    await self._patch(api, r, namespace, body, live)
                except aiohttp.ClientError as exc:
                    raise BackendError(f"creating {r.kind} {spec.name}: {exc}") from exc

        await asyncio.gather(*(one(spec) for spec in specs))

    async def _get(
        self, api: client.CustomObjectsApi, r: Resource, namespace: str, name: str
    ) -> dict[str, Any] | None:
        try:
            live: dict[str, Any] = await api.get_namespaced_custom_object(
                r.group, r.version, namespace, r.plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise BackendError(f"reading {r.kind} {name}: {exc.reason}") from exc
        except aiohttp.ClientError as exc:
            raise BackendError(f"reading {r.kind} {name}: {exc}") from exc
        return live

    async def _patch(
        self,
        api: client.CustomObjectsApi,
        r: Resource,
        namespace: str,
        body: dict[str, Any],
        live: dict[str, Any],
    ) -> None:
        """Merge-patch ``live`` to ``body``: a merge patch only adds and overwrites, so what
        the live spec has and ``body`` does not (an autoscaling target dropped, a model
        replaced by a container) is nulled out."""
        name = body["metadata"]["name"]
        try:
            await api.patch_namespaced_custom_object(
                r.group,
                r.version,
                namespace,
                r.plural,
                name,
                {
                    "metadata": {
                        "labels": body["metadata"]["labels"],
                        "annotations": body["metadata"].get("annotations") or {},
                    },
                    "spec": merge_patch(live.get("spec"), body["spec"]),
                },
                _content_type=MERGE_PATCH,  # type: ignore[call-arg]
            )
        except (ApiException, aiohttp.ClientError) as exc:
            raise BackendError(f"updating {r.kind} {name}: {exc}") from exc

    async def delete(self, environment: Environment, names: list[str]) -> None:
        """Names are unique across the kinds: each is deleted as the first kind that has it
        (absent everywhere is fine)."""
        api = await self._api(environment)
        namespace = namespace_of(environment)
        for name in names:
            for r in self.resources:
                try:
                    await api.delete_namespaced_custom_object(
                        r.group, r.version, namespace, r.plural, name
                    )
                    break
                except ApiException as exc:
                    if exc.status != 404:
                        raise BackendError(f"deleting {r.kind} {name}: {exc.reason}") from exc
                except aiohttp.ClientError as exc:
                    raise BackendError(f"deleting {r.kind} {name}: {exc}") from exc


def merge_patch(live: Any, wanted: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``live`` into ``wanted``: ``wanted`` with
    ``None`` for every key only ``live`` has (lists are replaced whole by merge patches)."""
    if not isinstance(live, dict) or not isinstance(wanted, dict):
        return wanted
    patch = {key: merge_patch(live.get(key), value) for key, value in wanted.items()}
    patch.update({key: None for key in live if key not in wanted})
    return patch


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
