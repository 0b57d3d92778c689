"""What a package's import path names, and the Ray Serve application that runs it as its
author wrote it. The platform deploys every serve with ``import_path
galapagos_runtime.apps:build_app`` (an application builder) and these ``args``:

- ``target``: the user's ``module:attribute`` (packages), or ``model``: ``{uri, format}``
  (model artifacts, served by :mod:`galapagos_runtime.serving`);
- ``name``: the serve's name (what model endpoints call the model);
- ``ingress``: Serve options for the application's ingress deployment (replicas or
  autoscaling, ``ray_actor_options``) from the infra config; per-deployment overrides of the
  deploy request travel in the Serve config's own ``deployments`` list, which wins;
- ``args``: the arguments of a user's application builder;
- ``routed``: the application also takes requests from its serve's traffic router
  (:mod:`galapagos_runtime.router`), as a traffic variant does;
- ``_galapagos``: the platform's marker (spec hash, labels), unused here.

What the target is decides how it runs:

- a Ray Serve ``Application`` (bound deployments calling each other through handles): as is;
- an application builder (a function annotated to return ``Application``): called with
  ``args``;
- an unbound ``@serve.deployment``: bound without arguments;
- an ASGI application (FastAPI, Starlette, any ``async (scope, receive, send)``): behind
  Serve's ingress, every route as written;
- anything else (a class or function with ``predict``, a callable): the generic model server.
"""

from __future__ import annotations

import inspect
from enum import StrEnum
from typing import Any

from ray import serve
from ray.serve import Application
from ray.serve.deployment import Deployment

from galapagos_runtime.loading import import_target, load_model
from galapagos_runtime.serving import model_app
from galapagos_runtime.variants import routable

# The model server runs predictions in worker threads, so a replica holds more requests than
# Ray's default of 5 at no cost; past that limit requests wait in the proxy, whose router
# retries a full replica only after backoffs of 25 ms doubling to 0.5 s, and the replica idles.
MODEL_SERVER_MAX_ONGOING_REQUESTS = 32


class Kind(StrEnum):
    APPLICATION = "application"
    BUILDER = "builder"
    DEPLOYMENT = "deployment"
    ASGI = "asgi"
    PYTHON = "python"


def _returns_application(function: Any) -> bool:
    annotation = inspect.signature(function).return_annotation
    if isinstance(annotation, str):  # postponed annotations
        return annotation.rsplit(".", 1)[-1] == "Application"
    return isinstance(annotation, type) and issubclass(annotation, Application)


def _is_asgi(obj: Any) -> bool:
    """An ASGI 3 application: a coroutine function of (scope, receive, send), or an object
    whose ``__call__`` is one."""
    if inspect.isclass(obj):
        return False
    if not callable(obj):
        return False
    call = obj if inspect.isfunction(obj) else type(obj).__call__
    if not inspect.iscoroutinefunction(call):
        return False
    parameters = list(inspect.signature(call).parameters.values())
    if not inspect.isfunction(obj):
        parameters = parameters[1:]  # self
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len([p for p in parameters if p.kind in positional]) == 3


def kind_of(obj: Any) -> Kind:
    if isinstance(obj, Application):
        return Kind.APPLICATION
    if isinstance(obj, Deployment):
        return Kind.DEPLOYMENT
    if inspect.isfunction(obj) and _returns_application(obj):
        return Kind.BUILDER
    if _is_asgi(obj):
        return Kind.ASGI
    return Kind.PYTHON


@serve.ingress()
class _AsgiServer:
    """Serves an ASGI app built on the replica: the user's (imported there, with its package
    as working directory), or the generic model server around a loaded model."""

    def __init__(self, source: dict[str, Any]) -> None:
        self.source = source

    def __serve_build_asgi_app__(self) -> Any:
        source = self.source
        if source.get("model"):
            model = load_model(source["model"]["uri"], source["model"]["format"])
            return model_app(model, source["name"])
        target = import_target(source["target"])
        if kind_of(target) == Kind.ASGI:
            return target
        return model_app(target() if inspect.isclass(target) else target, source["name"])


def application(args: dict[str, Any]) -> Application:
    """The application ``args`` describe, before the ingress options are applied."""
    source = {k: args[k] for k in ("target", "model", "name") if args.get(k) is not None}
    model_server = serve.deployment(
        name="model", max_ongoing_requests=MODEL_SERVER_MAX_ONGOING_REQUESTS
    )(_AsgiServer)
    if "model" in source:
        return model_server.bind(source)
    target = import_target(source["target"])
    kind = kind_of(target)
    if kind == Kind.APPLICATION:
        return target  # type: ignore[no-any-return]
    if kind == Kind.BUILDER:
        built = target(args.get("args") or {})
        if not isinstance(built, Application):
            returned = type(built).__name__
            raise TypeError(f"{source['target']} returned {returned}, not an Application")
        return built
    if kind == Kind.DEPLOYMENT:
        return target.bind()  # type: ignore[no-any-return]
    if kind == Kind.ASGI:
        return serve.deployment(name="app")(_AsgiServer).bind(source)
    return model_server.bind(source)


def with_ingress_options(app: Application, options: dict[str, Any]) -> Application:
    """``app`` with ``options`` set on its ingress deployment (arguments and the rest of its
    graph kept). Serve keeps the ingress on ``_bound_deployment`` (what ``serve.run`` and
    ``build_app`` read): the one place this relies on Ray's internals."""
    if not options:
        return app
    ingress: Deployment = app._bound_deployment
    return Application(ingress.options(**options))


def build_app(args: dict[str, Any]) -> Application:
    """The application builder the platform deploys (see the module's docstring)."""
    app = with_ingress_options(application(args), args.get("ingress") or {})
    return routable(app) if args.get("routed") else app
