"""Ray Serve through the dashboard's REST API (``/api/serve/applications/``).

``PUT`` replaces the whole set of applications, so every write merges ours into what is
deployed, leaving applications the platform does not manage untouched. Each application is
built by ``galapagos_runtime.apps:build_app`` from the user's import path (their own Serve
application, an ASGI app, or plain Python in the generic model server), with the package as
its ``working_dir`` and the runtime as a ``py_module``; ``args._galapagos`` marks it as ours,
with its environment's label: environments sharing one Ray cluster each see only their own.
A rollout is ready when Ray runs it and its health route answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.kernel.http import HttpClient, HttpError
from galapagos_core.kernel.naming import label_value
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadSpec, contains
from galapagos_model.catalog import Environment
from galapagos_model.enums import ArtifactKind, WorkloadState

MARKER = "_galapagos"
ENVIRONMENT_LABEL = "galapagos.io/environment"
VARIANT_LABEL = "galapagos.io/variant"
RUNTIME_IMPORT_PATH = "galapagos_runtime.apps:build_app"
ROUTER_IMPORT_PATH = "galapagos_runtime.router:build_router"
LLM_ROUTER_IMPORT_PATH = "galapagos_runtime.llm_router:build_llm_router"
GPU_INSTANCE_IMPORT_PATH = "galapagos_runtime.gpu_instance:build_gpu_instance"
# Ray's names for GPU models, where the catalog's differ.
RAY_ACCELERATORS = {"A100-40GB": "A100-40G", "A100-80GB": "A100-80G"}
_STATES = {
    "RUNNING": WorkloadState.READY,
    "DEPLOYING": WorkloadState.DEPLOYING,
    "NOT_STARTED": WorkloadState.DEPLOYING,
    "DEPLOY_FAILED": WorkloadState.FAILED,
    "UNHEALTHY": WorkloadState.FAILED,
    "DELETING": WorkloadState.DEPLOYING,
}


class RayEndpoint:
    """Where an environment's Ray is: dashboard URL, bearer token, Serve's public URL, the
    HTTP options Serve should start with (None: keep whatever the cluster runs), and where
    its metrics can be read in Prometheus' format (a single-node head's; None: unknown)."""

    def __init__(
        self,
        dashboard: str,
        token: str | None,
        serve_url: str,
        http_options: dict[str, Any] | None = None,
        metrics: str | None = None,
    ) -> None:
        self.dashboard = dashboard.rstrip("/")
        self.token = token
        self.serve_url = serve_url.rstrip("/")
        self.http_options = http_options
        self.metrics = metrics


Resolver = Callable[[Environment], Awaitable[RayEndpoint]]


# The router's code is all asynchronous and short, so its replicas run it on their own event
# loop rather than beside it in a thread and a loop of their own: each request then crosses no
# thread (2 ms less at p50 in a measurement on two cores; see the README's figures).
ROUTER_ENV = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
}


def render(
    spec: WorkloadSpec, links: PackageLinks, runtime_sha256: str, default_cpus: float
) -> dict[str, Any]:
    """The Serve application config for ``spec``: packages (the runtime's and the user's)
    come as signed links the cluster fetches."""
    # The marker is part of the application's args: what is in it must not change when the
    # application becomes a traffic variant (its route moves to the router, nothing restarts).
    labels = {k: v for k, v in spec.labels().items() if k != VARIANT_LABEL}
    marker = {"spec_hash": spec.digest(), "labels": labels, "health_path": spec.health_path}
    runtime_env: dict[str, Any] = {"py_modules": [links.url(runtime_sha256)]}
    if spec.routing is not None or spec.llm_routing is not None:
        return _router(spec, marker, runtime_env, default_cpus)
    if spec.llm is not None:
        return _gpu_instance(spec, marker, runtime_env)
    args: dict[str, Any] = {
        MARKER: marker,
        "name": spec.serve,
        "ingress": _ingress_options(spec, default_cpus),
        # Every application can take requests from a traffic router, so that becoming a
        # variant changes nothing that runs.
        "routed": True,
    }
    if spec.artifact_kind == ArtifactKind.PACKAGE:
        assert spec.package_sha256 is not None
        args["target"] = spec.import_path
        runtime_env["working_dir"] = links.url(spec.package_sha256)
        if spec.app_args:
            args["args"] = spec.app_args
    else:
        args["model"] = {"uri": spec.model_uri, "format": spec.model_format}
    if spec.environment_values:
        runtime_env["env_vars"] = spec.environment_values
    if spec.pip:
        runtime_env["pip"] = spec.pip
    application: dict[str, Any] = {
        "name": spec.name,
        "route_prefix": spec.route_prefix,
        "import_path": RUNTIME_IMPORT_PATH,
        "args": args,
        "runtime_env": runtime_env,
    }
    if spec.deployment_options:
        application["deployments"] = [
            {**options, "name": name} for name, options in sorted(spec.deployment_options.items())
        ]
    return application


def _router(
    spec: WorkloadSpec, marker: dict[str, Any], runtime_env: dict[str, Any], default_cpus: float
) -> dict[str, Any]:
    """A router: a serve's traffic router, or an environment's LLM router. Its table (or
    configuration) is its deployment's ``user_config``, so a change of weights, models,
    backends or keys reconfigures the running replicas."""
    table: dict[str, Any] | None
    if spec.routing is not None:
        name, import_path, table = "router", ROUTER_IMPORT_PATH, spec.routing
        args: dict[str, Any] = {"serve": spec.serve}
    else:
        name, import_path, table, args = "llm-router", LLM_ROUTER_IMPORT_PATH, spec.llm_routing, {}
    router = {
        "name": name,
        "num_replicas": spec.min_replicas,
        "user_config": table,
        "ray_actor_options": {"num_cpus": spec.cpus or default_cpus},
    }
    return {
        "name": spec.name,
        "route_prefix": spec.route_prefix,
        "import_path": import_path,
        "args": {MARKER: {**marker, "health_path": None}, **args},
        "runtime_env": {**runtime_env, "env_vars": ROUTER_ENV},
        "deployments": [router],
    }


def _gpu_instance(
    spec: WorkloadSpec, marker: dict[str, Any], runtime_env: dict[str, Any]
) -> dict[str, Any]:
    """A GPU instance: Ray Serve LLM's ``LLMConfig`` for its model on its GPUs."""
    llm = spec.llm
    assert llm is not None
    config = {
        "model_loading_config": {"model_id": llm.model_name, "model_source": llm.model_source},
        "accelerator_type": RAY_ACCELERATORS.get(llm.accelerator, llm.accelerator),
        "engine_kwargs": {**llm.engine_args, "tensor_parallel_size": llm.gpu_count},
        "deployment_config": {
            "autoscaling_config": {
                "min_replicas": spec.min_replicas,
                "max_replicas": spec.max_replicas,
            }
        },
    }
    return {
        "name": spec.name,
        "route_prefix": spec.route_prefix,
        "import_path": GPU_INSTANCE_IMPORT_PATH,
        "args": {
            MARKER: {**marker, "health_path": None},
            "engine": llm.engine,
            "cpus": spec.cpus,
            "llm_config": config,
        },
        "runtime_env": runtime_env,
    }


def _ingress_options(spec: WorkloadSpec, default_cpus: float) -> dict[str, Any]:
    """The infra config's resources and scale, for the application's ingress deployment."""
    options: dict[str, Any] = {
        "ray_actor_options": {
            "num_cpus": spec.cpus or default_cpus,
            "memory": int(spec.memory_gib * 1024**3),
            "num_gpus": spec.gpus,
        }
    }
    if spec.min_replicas == spec.max_replicas:
        options["num_replicas"] = spec.min_replicas
    else:
        options["autoscaling_config"] = {
            "min_replicas": spec.min_replicas,
            "max_replicas": spec.max_replicas,
            "target_ongoing_requests": spec.autoscaling_target or 2,
        }
    return options


def _holder(config: dict[str, Any] | None, environment: Environment) -> str | None:
    """Who holds deployed application ``config`` if not ``environment`` (None: it does, or
    there is no such application)."""
    if config is None:
        return None
    marker = (config.get("args") or {}).get(MARKER)
    if not marker:
        return "not managed by the platform"
    owner = (marker.get("labels") or {}).get(ENVIRONMENT_LABEL)
    if owner is not None and owner != label_value(environment.name):
        return f"environment {owner}"
    return None


def _message(app: dict[str, Any]) -> str | None:
    """The application's message with its deployments' (where Ray puts the traceback)."""
    parts = [app.get("message") or ""]
    for name, deployment in (app.get("deployments") or {}).items():
        if deployment.get("message"):
            parts.append(f"{name}: {deployment['message']}")
    text = "\n".join(part for part in parts if part).strip()
    return text[-4000:] or None


class RayBackend:
    def __init__(
        self,
        http: HttpClient,
        resolve: Resolver,
        links: PackageLinks,
        runtime_sha256: str,
        *,
        default_cpus: float,
    ) -> None:
        self.http = http
        self.resolve = resolve
        self.links = links
        self.runtime_sha256 = runtime_sha256
        self.default_cpus = default_cpus

    async def _details(self, endpoint: RayEndpoint) -> dict[str, Any]:
        answer = await self._call("GET", endpoint, None)
        return answer if isinstance(answer, dict) else {}

    async def _call(self, method: str, endpoint: RayEndpoint, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
        url = f"{endpoint.dashboard}/api/serve/applications/"
        try:
            return await self.http.json(method, url, json=body, headers=headers)
        except HttpError as exc:
            raise BackendError(f"Ray dashboard: {exc}") from exc

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        endpoint = await self.resolve(environment)
        details = await self._details(endpoint)
        found: dict[str, Observed] = {}
        for name, app in (details.get("applications") or {}).items():
            config = app.get("deployed_app_config") or {}
            if _holder(config, environment) is not None:
                continue  # not ours, or another environment's on the same Ray cluster
            marker = config["args"][MARKER]
            state = _STATES.get(app.get("status", ""), WorkloadState.DEPLOYING)
            route = app.get("route_prefix") or config.get("route_prefix")
            url = f"{endpoint.serve_url}{route}" if route else None
            unhealthy = None
            if name in probe and state == WorkloadState.READY and url:
                # A traffic variant has no route of its own: Ray's health is all there is.
                unhealthy = await self._unhealthy(url, marker.get("health_path"))
            found[name] = Observed(
                name=name,
                state=state,
                spec_hash=marker.get("spec_hash"),
                live=config,
                url=url,
                message=_message(app),
                external_id=name,
                unhealthy=unhealthy,
            )
        return found

    async def _unhealthy(self, url: str, health_path: str | None) -> str | None:
        """Why the app's health route does not answer 2xx, or None when it does (or when the
        app has none: Ray's own health is then all there is)."""
        if not health_path:
            return None
        status, body = await self.http.probe(f"{url.rstrip('/')}{health_path}")
        if status is not None and 200 <= status < 300:
            return None
        return f"{health_path} answered {status or 'nothing'}: {body}"[:2000]

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        """Same spec, nothing drifted, and package links not yet due for renewal."""
        return observed.spec_hash == spec.digest() and contains(observed.live, self._render(spec))

    def _render(self, spec: WorkloadSpec) -> dict[str, Any]:
        return render(spec, self.links, self.runtime_sha256, self.default_cpus)

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        """Ours written; an application of the same name that is not this environment's (one
        the platform does not manage, or another environment's on the same Ray cluster) is
        left as it is, and named in the error raised once the others are written."""
        rendered = {spec.name: self._render(spec) for spec in specs}
        held: dict[str, str] = {}

        def change(apps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            for name in rendered:
                holder = _holder(apps.get(name), environment)
                if holder is not None:
                    held[name] = holder
            return {**apps, **{k: v for k, v in rendered.items() if k not in held}}

        await self._put(environment, change)
        if held:
            taken = ", ".join(f"'{name}' ({holder})" for name, holder in sorted(held.items()))
            raise BackendError(f"Serve applications held by others on this Ray cluster: {taken}")

    async def delete(self, environment: Environment, names: list[str]) -> None:
        await self._put(environment, lambda apps: {k: v for k, v in apps.items() if k not in names})

    async def _put(
        self,
        environment: Environment,
        change: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]],
    ) -> None:
        endpoint = await self.resolve(environment)
        details = await self._details(endpoint)
        current = {
            name: app["deployed_app_config"]
            for name, app in (details.get("applications") or {}).items()
            if app.get("deployed_app_config")
        }
        body: dict[str, Any] = {"applications": list(change(current).values())}
        running = details.get("http_options") or {}
        options = endpoint.http_options or {k: running[k] for k in ("host", "port") if k in running}
        if options:
            body["http_options"] = options
        if details.get("proxy_location"):
            body["proxy_location"] = details["proxy_location"]
        await self._call("PUT", endpoint, body)
