"""KubeRay: one ``RayService`` (ray.io/v1) per workload, holding the same Serve application
the Ray backend deploys (``serveConfigV2``) and a Ray cluster sized from the infra config."""

from __future__ import annotations

from typing import Any

import yaml

from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.workloads.backends.custom_resources import (
    RAY_SERVICE,
    CustomResourceBackend,
    condition,
    namespace_of,
    node_selector,
    resources,
    status_is_current,
)
from galapagos_core.workloads.backends.ray import render as render_application
from galapagos_core.workloads.spec import WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import WorkloadState

RAY_VERSION = "2.60.0"


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

    def render(self, environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
        image = str(
            environment.env_configs.get("ray_image") or f"rayproject/ray:{RAY_VERSION}-py311"
        )
        application = render_application(spec, self.links, self.runtime_sha256, self.default_cpus)
        serve_config = {"applications": [application]}
        worker = {
            "groupName": "workers",
            "replicas": spec.min_replicas,
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "rayStartParams": {},
            "template": {
                "spec": {
                    "nodeSelector": node_selector(environment, spec),
                    "containers": [
                        {"name": "ray-worker", "image": image, "resources": resources(spec)}
                    ],
                }
            },
        }
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
            "apiVersion": RAY_SERVICE.api_version,
            "kind": RAY_SERVICE.kind,
            "metadata": {
                "name": spec.name,
                "namespace": namespace_of(environment),
                "labels": spec.labels(),
            },
            "spec": {
                "serveConfigV2": yaml.safe_dump(serve_config, sort_keys=True),
                "rayClusterConfig": {
                    "rayVersion": RAY_VERSION,
                    "enableInTreeAutoscaling": spec.min_replicas != spec.max_replicas,
                    "headGroupSpec": head,
                    "workerGroupSpecs": [worker],
                },
            },
        }

    def read_status(self, live: dict[str, Any]) -> tuple[WorkloadState, str | None, str | None]:
        status = live.get("status") or {}
        name = (live.get("metadata") or {}).get("name", "")
        namespace = (live.get("metadata") or {}).get("namespace", "")
        url = f"http://{name}-serve-svc.{namespace}.svc:8000"
        if not status_is_current(live):
            return WorkloadState.DEPLOYING, url, None
        # During a zero-downtime upgrade the new version runs on the pending cluster while
        # the active one (and the Ready condition) still describes the old version.
        active = status.get("activeServiceStatus") or {}
        pending = status.get("pendingServiceStatus") or {}
        failed = [
            f"{n}: {a.get('message') or a.get('status')}"
            for service in (pending, active)
            for n, a in (service.get("applicationStatuses") or {}).items()
            if a.get("status") in ("DEPLOY_FAILED", "UNHEALTHY")
        ]
        if failed:
            return WorkloadState.FAILED, url, "; ".join(failed)
        upgrading = bool(pending.get("rayClusterName")) or (
            (condition(live, "UpgradeInProgress") or {}).get("status") == "True"
        )
        app = (active.get("applicationStatuses") or {}).get(name)
        ready = condition(live, "Ready")
        if (
            ready is not None
            and ready.get("status") == "True"
            and not upgrading
            and (app is None or app.get("status") == "RUNNING")
        ):
            return WorkloadState.READY, url, None
        return WorkloadState.DEPLOYING, url, (ready or {}).get("message")
