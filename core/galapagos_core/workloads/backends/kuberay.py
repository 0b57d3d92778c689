"""KubeRay: one ``RayService`` (ray.io/v1) per serve and environment, named after the serve,
holding in its ``serveConfigV2`` the serve's Serve applications as the Ray backend renders
them: the serve's application, and with traffic variants each variant's and the router's,
which reaches them through handles inside the one Ray cluster.

Each workload is one application there: observed by the application's status, matched by its
marker and config, added, replaced and removed without touching the others (the RayService
goes with its last application). The cluster is sized from the serve's infra config; its
worker group grows to hold every application it runs (``galapagos.io/replicas-per-app``
records the per-application figure, so applications added later are counted the same way).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import yaml

from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.naming import managed_labels, resource_name
from galapagos_core.workloads.backends.custom_resources import (
    RAY_SERVICE,
    CustomResourceBackend,
    condition,
    namespace_of,
    node_selector,
    resources,
    status_is_current,
    tolerations,
)
from galapagos_core.workloads.backends.ray import MARKER, ROUTER_IMPORT_PATH
from galapagos_core.workloads.backends.ray import render as render_application
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadSpec, contains
from galapagos_model.catalog import Environment
from galapagos_model.enums import WorkloadState

RAY_VERSION = "2.60.0"
REPLICAS_PER_APP = "galapagos.io/replicas-per-app"  # "min,max" of one application


def applications(rayservice: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Serve applications in a RayService's ``serveConfigV2``."""
    text = ((rayservice or {}).get("spec") or {}).get("serveConfigV2") or ""
    document = yaml.safe_load(text) if text else None
    return list((document or {}).get("applications") or [])


def _is_router(app: dict[str, Any]) -> bool:
    return app.get("import_path") == ROUTER_IMPORT_PATH


class KubeRayBackend(CustomResourceBackend):
    resources = (RAY_SERVICE,)

    def __init__(
        self,
        clients: KubeClients,
        links: PackageLinks,
        runtime_sha256: str,
        *,
        default_cpus: float,
    ) -> None:
        super().__init__(clients)
        self.links = links
        self.runtime_sha256 = runtime_sha256
        self.default_cpus = default_cpus

    @staticmethod
    def rayservice_of(spec: WorkloadSpec) -> str:
        """The RayService that holds ``spec``'s application: its serve's."""
        return resource_name(spec.serve)

    def _application(self, spec: WorkloadSpec) -> dict[str, Any]:
        return render_application(spec, self.links, self.runtime_sha256, self.default_cpus)

    def _rayservice(
        self,
        environment: Environment,
        spec: WorkloadSpec,
        apps: list[dict[str, Any]],
        live: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A RayService running ``apps``: its cluster sized from ``spec``'s infra config, or
        for a router's spec (which has none) as ``live`` was, its worker group recounted."""
        metadata = (live or {}).get("metadata") or {}
        annotations = dict(metadata.get("annotations") or {})
        if spec.routing is None or live is None:
            annotations[REPLICAS_PER_APP] = f"{spec.min_replicas},{spec.max_replicas}"
        elif REPLICAS_PER_APP not in annotations:  # made for one application, before variants
            [was] = live["spec"]["rayClusterConfig"]["workerGroupSpecs"]
            annotations[REPLICAS_PER_APP] = f"{was['minReplicas']},{was['maxReplicas']}"
        low, per_app = (int(n) for n in annotations[REPLICAS_PER_APP].split(","))
        versions = sum(1 for app in apps if not _is_router(app))
        high = per_app * max(1, versions) + (len(apps) - versions)
        if spec.routing is None or live is None:
            cluster = self._cluster(environment, spec)
        else:
            cluster = copy.deepcopy(live["spec"]["rayClusterConfig"])
        [workers] = cluster["workerGroupSpecs"]
        workers.update(replicas=low, minReplicas=low, maxReplicas=high)
        cluster["enableInTreeAutoscaling"] = low != high
        return {
            "apiVersion": RAY_SERVICE.api_version,
            "kind": RAY_SERVICE.kind,
            "metadata": {
                "name": self.rayservice_of(spec),
                "namespace": namespace_of(environment),
                "labels": managed_labels(
                    project=spec.project, serve=spec.serve, environment=spec.environment
                ),
                "annotations": annotations,
            },
            "spec": {
                "serveConfigV2": yaml.safe_dump(
                    {"applications": sorted(apps, key=lambda a: str(a["name"]))}, sort_keys=True
                ),
                "rayClusterConfig": cluster,
            },
        }

    def _cluster(self, environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
        """The Ray cluster for ``spec``'s infra config (its worker group counted by the
        caller)."""
        if spec.llm is None:
            image = str(
                environment.env_configs.get("ray_image") or f"rayproject/ray:{RAY_VERSION}-py311"
            )
        else:  # Ray Serve LLM: Ray with vLLM
            image = str(
                environment.env_configs.get("ray_llm_image")
                or f"rayproject/ray-llm:{RAY_VERSION}-py311-cu128"
            )
        pod: dict[str, Any] = {
            "nodeSelector": node_selector(environment, spec),
            "containers": [{"name": "ray-worker", "image": image, "resources": resources(spec)}],
        }
        if spec.llm is not None:
            pod["tolerations"] = tolerations(spec)
        worker = {"groupName": "workers", "rayStartParams": {}, "template": {"spec": pod}}
        head = {
            "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "ray-head",
                            "image": image,
                            "resources": {
                                "requests": {"cpu": "1", "memory": "2Gi"},
                                "limits": {"cpu": "1", "memory": "2Gi"},
                            },
                            "ports": [
                                {"containerPort": 6379, "name": "gcs"},
                                {"containerPort": 8265, "name": "dashboard"},
                                {"containerPort": 8000, "name": "serve"},
                            ],
                        }
                    ]
                }
            },
        }
        return {
            "rayVersion": RAY_VERSION,
            "headGroupSpec": head,
            "workerGroupSpecs": [worker],
        }

    # -- what runs ---------------------------------------------------------------------------

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        """Each application of each RayService, by its workload's name."""
        objects = await self._objects(environment)
        found: dict[str, Observed] = {}
        for item in await self._list(objects, environment, RAY_SERVICE):
            for app in applications(item):
                name = str(app["name"])
                state, url, message = self.app_status(item, name, app.get("route_prefix"))
                found[name] = Observed(
                    name=name,
                    state=state,
                    spec_hash=((app.get("args") or {}).get(MARKER) or {}).get("spec_hash"),
                    live=item,
                    url=url,
                    message=message,
                    external_id=(item.get("metadata") or {}).get("uid"),
                )
        return found

    def app_status(
        self, live: dict[str, Any], app: str, route: str | None
    ) -> tuple[WorkloadState, str | None, str | None]:
        """Application ``app``'s state in RayService ``live``, and its URL inside the cluster
        (Serve's service; none for an application reached only through a router)."""
        status = live.get("status") or {}
        name = (live.get("metadata") or {}).get("name", "")
        namespace = (live.get("metadata") or {}).get("namespace", "")
        url = f"http://{name}-serve-svc.{namespace}.svc:8000{route}" if route else None
        if not status_is_current(live):
            return WorkloadState.DEPLOYING, url, None
        # During a zero-downtime upgrade the new version runs on the pending cluster while
        # the active one (and the Ready condition) still describes the old version.
        active = status.get("activeServiceStatus") or {}
        pending = status.get("pendingServiceStatus") or {}
        failed = [
            f"{app}: {found.get('message') or found.get('status')}"
            for service in (pending, active)
            if (found := (service.get("applicationStatuses") or {}).get(app))
            and found.get("status") in ("DEPLOY_FAILED", "UNHEALTHY")
        ]
        if failed:
            return WorkloadState.FAILED, url, "; ".join(failed)
        upgrading = bool(pending.get("rayClusterName")) or (
            (condition(live, "UpgradeInProgress") or {}).get("status") == "True"
        )
        running = (active.get("applicationStatuses") or {}).get(app)
        ready = condition(live, "Ready")
        if (
            ready is not None
            and ready.get("status") == "True"
            and not upgrading
            and (running is None or running.get("status") == "RUNNING")
        ):
            return WorkloadState.READY, url, None
        return WorkloadState.DEPLOYING, url, (ready or {}).get("message")

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        """The application is as rendered; for the serve's own applications, the cluster is
        still sized from the same infra config."""
        if observed.spec_hash != spec.digest():
            return False
        live = [a for a in applications(observed.live) if a.get("name") == spec.name]
        if not live or not contains(live[0], self._application(spec)):
            return False
        if spec.routing is not None:
            return True
        apps = applications(observed.live)
        wanted = self._rayservice(environment, spec, apps, observed.live)
        wanted = wanted["spec"]["rayClusterConfig"]
        return contains((observed.live.get("spec") or {}).get("rayClusterConfig"), wanted)

    # -- changes -----------------------------------------------------------------------------

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        """Each RayService written once, its applications added or replaced; sized from a
        serve's application among them, else as it was."""
        objects = await self._objects(environment)
        by_service: dict[str, list[WorkloadSpec]] = defaultdict(list)
        for spec in specs:
            by_service[self.rayservice_of(spec)].append(spec)
        for name, members in by_service.items():
            live = await objects.get(RAY_SERVICE, name)
            apps = {str(a["name"]): a for a in applications(live)}
            apps.update({spec.name: self._application(spec) for spec in members})
            sizing = next((s for s in members if s.routing is None), members[0])
            body = self._rayservice(environment, sizing, list(apps.values()), live)
            if live is None:
                if not await objects.create(RAY_SERVICE, body):  # the next pass merges
                    raise BackendError(f"{RAY_SERVICE.kind} {name} was created meanwhile")
            else:
                await objects.update(RAY_SERVICE, body, live)

    async def delete(self, environment: Environment, names: list[str]) -> None:
        """Each application removed from its RayService; a RayService left without any goes."""
        objects = await self._objects(environment)
        gone = set(names)
        for item in await self._list(objects, environment, RAY_SERVICE):
            apps = applications(item)
            kept = [a for a in apps if a.get("name") not in gone]
            if len(kept) == len(apps):
                continue
            name = item["metadata"]["name"]
            if not kept:
                await super().delete(environment, [name])
                continue
            spec = dict(item["spec"])
            spec["serveConfigV2"] = yaml.safe_dump({"applications": kept}, sort_keys=True)
            body = {"metadata": item["metadata"], "spec": spec}
            await objects.update(RAY_SERVICE, body, item)
