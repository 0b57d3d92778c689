"""KServe: one ``InferenceService`` (serving.kserve.io/v1beta1) per workload. Model artifacts
become a predictor model (format + storageUri), image artifacts a custom container. Standard
deployment mode unless the environment asks for Knative (``env_configs.kserve_mode``). A serve
with traffic variants has an InferenceService per variant and its router is an ``HTTPRoute``
(:mod:`galapagos_core.workloads.backends.http_route`)."""

from __future__ import annotations

from typing import Any

from galapagos_core.workloads.backends.custom_resources import (
    HTTP_ROUTE,
    INFERENCE_SERVICE,
    CustomResourceBackend,
    condition,
    namespace_of,
    node_selector,
    resources,
    status_is_current,
    tolerations,
)
from galapagos_core.workloads.backends.http_route import render_route, route_status
from galapagos_core.workloads.backends.kube_objects import Resource
from galapagos_core.workloads.spec import LlmEngine, Observed, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import ArtifactKind, WorkloadState

MODES = {"standard": "Standard", "knative": "Knative"}


def huggingface_args(llm: LlmEngine) -> list[str]:
    """The Hugging Face serving runtime's arguments: the model, the vLLM backend across the
    instance's GPUs, then the engine's own (``max_model_len`` → ``--max-model-len``)."""
    args = [
        f"--model_name={llm.model_name}",
        f"--model_id={llm.model_source}",
        "--backend=vllm",
        f"--tensor-parallel-size={llm.gpu_count}",
    ]
    for key, value in sorted(llm.engine_args.items()):
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args.append(f"{flag}={value}")
    return args


class KServeBackend(CustomResourceBackend):
    resources = (INFERENCE_SERVICE, HTTP_ROUTE)

    def resource_for(self, spec: WorkloadSpec) -> Resource:
        return HTTP_ROUTE if spec.routing is not None else INFERENCE_SERVICE

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        """A route's rules are wholly the platform's (every field the API server would default
        is set), so it matches only as rendered: a backend or mirror left over is drift."""
        if spec.routing is None:
            return super().matches(environment, spec, observed)
        wanted = self.manifest(environment, spec)["spec"]
        return observed.spec_hash == spec.digest() and observed.live.get("spec") == wanted

    def render(self, environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
        if spec.routing is not None:
            return render_route(environment, spec)
        mode = MODES.get(str(environment.env_configs.get("kserve_mode", "standard")).lower())
        predictor: dict[str, Any] = {
            "minReplicas": spec.min_replicas,
            "maxReplicas": spec.max_replicas,
            "nodeSelector": node_selector(environment, spec),
        }
        if spec.autoscaling_target:
            predictor["scaleMetric"] = "concurrency"
            predictor["scaleTarget"] = spec.autoscaling_target
        env = [{"name": k, "value": v} for k, v in sorted(spec.environment_values.items())]
        if spec.llm is not None:
            predictor["tolerations"] = tolerations(spec)
            predictor["model"] = {
                "modelFormat": {"name": "huggingface"},
                "args": huggingface_args(spec.llm),
                "resources": resources(spec),
            }
        elif spec.artifact_kind == ArtifactKind.IMAGE:
            container: dict[str, Any] = {
                "name": "kserve-container",
                "image": spec.image_url,
                "resources": resources(spec),
            }
            if env:
                container["env"] = env
            predictor["containers"] = [container]
        else:
            model: dict[str, Any] = {
                "modelFormat": {"name": spec.model_format or "sklearn"},
                "storageUri": spec.model_uri,
                "resources": resources(spec),
            }
            if env:
                model["env"] = env
            predictor["model"] = model
        return {
            "apiVersion": INFERENCE_SERVICE.api_version,
            "kind": INFERENCE_SERVICE.kind,
            "metadata": {
                "name": spec.name,
                "namespace": namespace_of(environment),
                "labels": spec.labels(),
                "annotations": {"serving.kserve.io/deploymentMode": mode or "Standard"},
            },
            "spec": {"predictor": predictor},
        }

    def read_status(self, live: dict[str, Any]) -> tuple[WorkloadState, str | None, str | None]:
        if live.get("kind") == HTTP_ROUTE.kind:
            return route_status(live)
        status = live.get("status") or {}
        url = status.get("url")
        ready = condition(live, "Ready")
        if ready is None or not status_is_current(live):
            return WorkloadState.DEPLOYING, url, None
        if ready.get("status") == "True":
            return WorkloadState.READY, url, None
        failing = [
            c
            for c in status.get("conditions") or []
            if c.get("status") == "False" and str(c.get("reason") or "").endswith("Failed")
        ]
        failed = ready.get("reason") in ("RevisionFailed", "InferenceServiceFailed") or bool(
            failing
        )
        message = (
            ready.get("message")
            or next((c["message"] for c in failing if c.get("message")), None)
            or ready.get("reason")
        )
        return (WorkloadState.FAILED if failed else WorkloadState.DEPLOYING), url, message
