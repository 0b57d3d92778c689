"""Virtual models on Kubernetes environments (KubeRay, KServe), through Envoy AI Gateway on
the Gateway the environment names (``env_configs.gateway``):

- one ``AIGatewayRoute`` (aigateway.envoyproxy.io/v1beta1) per virtual model: a rule matching
  ``x-ai-eg-model: <name>`` (the gateway sets it from the body's ``model``) with a
  ``backendRef`` per backend carrying its ``weight``, ``priority`` and ``modelNameOverride``;
- per backend an ``AIServiceBackend`` (OpenAI's schema, its URL's path as prefix) and the
  Envoy Gateway ``Backend`` (gateway.envoyproxy.io/v1alpha1) it points at (host and port,
  TLS with the system's CAs for https);
- per backend with an API key a ``Secret`` the platform creates and a
  ``BackendSecurityPolicy`` (type APIKey) that has the gateway send it;
- one ``BackendTrafficPolicy`` per route: retries on connection failures, resets, 429 and
  5xx, within a priority first, then on the next.

All are made afresh from the database on every reconcile pass, kept as wanted (created,
patched, orphans deleted: galapagos_core.workloads.backends.object_sets), and the route's
status is recorded on the model's placement.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from galapagos_core.kernel.config import LlmSettings
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.naming import MANAGED_BY, label_value, managed_labels, resource_name
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.virtual_models.upstreams import targets
from galapagos_core.workloads.backends.custom_resources import condition, namespace_of
from galapagos_core.workloads.backends.http_route import GATEWAY_GROUP, gateway_of
from galapagos_core.workloads.backends.kube_objects import SECRET, Resource
from galapagos_core.workloads.backends.object_sets import ObjectSet
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import (
    EnvironmentBackend,
    VirtualModelStatus,
    WorkloadState,
)
from galapagos_model.queries import virtual_models as vm_queries
from galapagos_model.virtual_models import VirtualModel

AI_GATEWAY = "aigateway.envoyproxy.io"
ENVOY_GATEWAY = "gateway.envoyproxy.io"
AI_GATEWAY_ROUTE = Resource(AI_GATEWAY, "v1beta1", "aigatewayroutes", "AIGatewayRoute")
AI_SERVICE_BACKEND = Resource(AI_GATEWAY, "v1beta1", "aiservicebackends", "AIServiceBackend")
SECURITY_POLICY = Resource(
    AI_GATEWAY, "v1beta1", "backendsecuritypolicies", "BackendSecurityPolicy"
)
ENVOY_BACKEND = Resource(ENVOY_GATEWAY, "v1alpha1", "backends", "Backend")
TRAFFIC_POLICY = Resource(
    ENVOY_GATEWAY, "v1alpha1", "backendtrafficpolicies", "BackendTrafficPolicy"
)
KINDS = (
    AI_GATEWAY_ROUTE,
    AI_SERVICE_BACKEND,
    SECURITY_POLICY,
    ENVOY_BACKEND,
    TRAFFIC_POLICY,
    SECRET,
)
log = logging.getLogger("galapagos.llm")
MODEL_HEADER = "x-ai-eg-model"
COMPONENT = "galapagos.io/component"
RETRY_ON_STATUS = [429, 500, 502, 503, 504]


@dataclass(frozen=True)
class Upstream:
    """One backend as the gateway reaches it."""

    name: str  # of its objects
    url: str  # its OpenAI base URL
    weight: int
    priority: int
    model: str | None  # the name sent upstream (None: the virtual one)
    api_key: str | None


def _labels(environment: Environment, model: VirtualModel) -> dict[str, str]:
    return {
        **managed_labels(project=model.project.name, environment=environment.name),
        "galapagos.io/virtual-model": label_value(model.name),
        COMPONENT: "virtual-models",
    }


def _object(
    r: Resource, name: str, environment: Environment, labels: dict[str, str], spec: Any
) -> dict[str, Any]:
    metadata = {"name": name, "namespace": namespace_of(environment), "labels": labels}
    return {"apiVersion": r.api_version, "kind": r.kind, "metadata": metadata, "spec": spec}


def _envoy_backend(upstream: Upstream) -> dict[str, Any]:
    parts = urlsplit(upstream.url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    spec: dict[str, Any] = {
        "endpoints": [{"fqdn": {"hostname": host, "port": parts.port or (443 if https else 80)}}]
    }
    if https:
        spec["tls"] = {"wellKnownCACertificates": "System", "sni": host}
    return spec


def render(
    environment: Environment, model: VirtualModel, upstreams: list[Upstream], timeout: float
) -> list[dict[str, Any]]:
    """Every object one virtual model has on ``environment``."""
    gateway = gateway_of(environment)
    if gateway is None:
        raise BackendError(f"environment '{environment.name}' names no gateway with a domain")
    labels = _labels(environment, model)
    parent: dict[str, Any] = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gateway["name"]}
    if gateway.get("namespace"):
        parent["namespace"] = gateway["namespace"]
    refs = []
    objects = []
    for u in upstreams:
        ref: dict[str, Any] = {"name": u.name, "weight": u.weight, "priority": u.priority}
        if u.model:
            ref["modelNameOverride"] = u.model
        refs.append(ref)
        prefix = urlsplit(u.url).path.rstrip("/")
        schema = {"name": "OpenAI", **({"prefix": prefix} if prefix else {})}
        backend_ref = {"group": ENVOY_GATEWAY, "kind": "Backend", "name": u.name}
        objects.append(
            _object(
                AI_SERVICE_BACKEND,
                u.name,
                environment,
                labels,
                {"schema": schema, "backendRef": backend_ref},
            )
        )
        objects.append(_object(ENVOY_BACKEND, u.name, environment, labels, _envoy_backend(u)))
        if u.api_key:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": u.name,
                        "namespace": namespace_of(environment),
                        "labels": labels,
                    },
                    "type": "Opaque",
                    "data": {"apiKey": base64.b64encode(u.api_key.encode()).decode()},
                }
            )
            target = {"group": AI_GATEWAY, "kind": "AIServiceBackend", "name": u.name}
            objects.append(
                _object(
                    SECURITY_POLICY,
                    u.name,
                    environment,
                    labels,
                    {
                        "type": "APIKey",
                        "apiKey": {"secretRef": {"name": u.name}},
                        "targetRefs": [target],
                    },
                )
            )
    route = {
        "parentRefs": [parent],
        "hostnames": [f"llm.{gateway['domain']}"],
        "rules": [
            {
                "matches": [
                    {"headers": [{"type": "Exact", "name": MODEL_HEADER, "value": model.name}]}
                ],
                "backendRefs": refs,
            }
        ],
    }
    tiers: dict[int, int] = {}
    for u in upstreams:
        tiers[u.priority] = tiers.get(u.priority, 0) + 1
    retry = {
        "numRetries": max(1, len(upstreams) - 1),
        "numAttemptsPerPriority": max(tiers.values(), default=1),
        "retryOn": {
            "triggers": ["connect-failure", "reset", "retriable-status-codes"],
            "httpStatusCodes": RETRY_ON_STATUS,
        },
        "perRetry": {"timeout": f"{max(1, round(timeout))}s"},
    }
    target = {"group": GATEWAY_GROUP, "kind": "HTTPRoute", "name": model.route_name}
    return [
        _object(AI_GATEWAY_ROUTE, model.route_name, environment, labels, route),
        _object(
            TRAFFIC_POLICY,
            model.route_name,
            environment,
            labels,
            {"targetRefs": [target], "retry": retry},
        ),
        *objects,
    ]


def route_state(live: dict[str, Any] | None) -> tuple[WorkloadState, str | None]:
    """The gateway's word on a route: accepted (ready), refused (failed, why), or none yet."""
    if live is None:
        return WorkloadState.DEPLOYING, None
    accepted = condition(live, "Accepted")
    refused = condition(live, "NotAccepted")
    if accepted is not None and accepted.get("status") == "True":
        return WorkloadState.READY, None
    if refused is not None and refused.get("status") == "True":
        return WorkloadState.FAILED, str(refused.get("message") or refused.get("reason"))
    if accepted is not None and accepted.get("status") == "False":
        return WorkloadState.FAILED, str(accepted.get("message") or accepted.get("reason"))
    return WorkloadState.DEPLOYING, None


class AiGateways:
    """The reconcile pass's part for virtual models on Kubernetes environments."""

    def __init__(self, settings: LlmSettings, secrets: SecretBox, clients: KubeClients) -> None:
        self.settings = settings
        self.secrets = secrets
        self.objects = ObjectSet(clients, KINDS)
        # Environments known to hold none of these objects (checked once per process).
        self._clean: set[Any] = set()

    async def prepare(self, environment: Environment) -> list[WorkloadSpec]:
        if environment.backend == EnvironmentBackend.RAY:
            return []
        placements = await vm_queries.placed_in(environment.id)
        if not placements and (environment.id in self._clean or environment.cluster is None):
            return []
        wanted = []
        for placement in placements:
            model = placement.virtual_model
            if model.status == VirtualModelStatus.ACTIVE:
                upstreams = await self._upstreams(model, environment)
                wanted += render(environment, model, upstreams, self.settings.timeout_seconds)
        selector = (
            f"{MANAGED_BY}=galapagos,galapagos.io/environment={label_value(environment.name)},"
            f"{COMPONENT}=virtual-models"
        )
        try:
            live = await self.objects.sync(environment, namespace_of(environment), selector, wanted)
        except BackendError as exc:
            if placements:
                raise  # the environment's error says why its models are not answered
            # Only looking for leftovers: a cluster that will not be listed (the gateway's
            # kinds forbidden) holds none of ours, and its workloads are reconciled anyway.
            log.warning(
                "environment %s: virtual-model objects not listed: %s", environment.name, exc
            )
            live = {}
        if placements:
            self._clean.discard(environment.id)
        else:
            self._clean.add(environment.id)
        gateway = gateway_of(environment) or {}
        for placement in placements:
            route = live.get((AI_GATEWAY_ROUTE.kind, placement.virtual_model.route_name))
            state, message = route_state(route)
            endpoint = f"http://llm.{gateway['domain']}/v1" if gateway else None
            await vm_queries.record_placement(placement, state, endpoint, message)
        return []

    async def observed(self, environment: Environment, seen: dict[str, Observed | None]) -> None:
        """Its objects are not workloads: recorded in ``prepare``."""

    async def _upstreams(self, model: VirtualModel, environment: Environment) -> list[Upstream]:
        return [
            Upstream(
                name=resource_name("vm", model.project.name, model.name, t.name),
                url=t.url,
                weight=t.weight,
                priority=t.priority,
                model=t.model,
                api_key=t.api_key,
            )
            for t in await targets(model, environment, self.secrets)
        ]
