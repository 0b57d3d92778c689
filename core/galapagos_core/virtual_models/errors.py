"""What the virtual-model capability answers when a rule is broken (each with its own code)."""

from __future__ import annotations

from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound


def not_found(name: str) -> NotFound:
    return NotFound(f"no virtual model '{name}'", code="VIRTUAL_MODEL_NOT_FOUND", name=name)


def ambiguous(name: str, projects: list[str]) -> Conflict:
    return Conflict(
        f"'{name}' is a virtual model of several projects ({', '.join(projects)}): "
        "say which with ?project=",
        code="VIRTUAL_MODEL_AMBIGUOUS",
        name=name,
        projects=projects,
    )


def invalid_name(name: str) -> InvalidInput:
    return InvalidInput(
        f"'{name}' is not a virtual model name: 1 to 128 letters, digits and '.', '_', ':', "
        "'-', starting with a letter or digit",
        code="INVALID_VIRTUAL_MODEL_NAME",
        name=name,
    )


def exists(name: str, project: str) -> Conflict:
    return Conflict(
        f"project '{project}' already has a virtual model '{name}'",
        code="VIRTUAL_MODEL_EXISTS",
        name=name,
        project=project,
    )


def backend_not_found(backend: str) -> NotFound:
    return NotFound(f"no backend '{backend}'", code="BACKEND_NOT_FOUND", backend=backend)


def invalid_backend_name(name: str) -> InvalidInput:
    return InvalidInput(
        f"'{name}' is not a backend name: 1 to 63 lower-case letters, digits and '-', starting "
        "and ending with a letter or digit",
        code="INVALID_BACKEND_NAME",
        backend=name,
    )


def invalid_priority(priority: int) -> InvalidInput:
    return InvalidInput(
        f"priority {priority} is not allowed: 0 is the first tier, 1 and up the fallbacks",
        code="INVALID_PRIORITY",
        priority=priority,
    )


def invalid_weight(weight: int) -> InvalidInput:
    return InvalidInput(
        f"weight {weight} is outside 0-100", code="INVALID_TRAFFIC_WEIGHT", weight=weight
    )


def backend_exists(name: str, override: str | None) -> Conflict:
    what = f"'{name}'" + (f" with model '{override}'" if override else "")
    return Conflict(
        f"this virtual model already has backend {what}",
        code="BACKEND_ALREADY_EXISTS",
        backend=name,
        model_name_override=override,
    )


def not_deployed(name: str, env: str) -> NotFound:
    return NotFound(
        f"virtual model '{name}' is not deployed on '{env}'",
        code="VIRTUAL_MODEL_NOT_DEPLOYED",
        name=name,
        env=env,
    )


def name_taken(name: str, env: str, project: str) -> Conflict:
    return Conflict(
        f"'{env}' already answers a virtual model '{name}' of project '{project}': one "
        "environment's router answers each name once",
        code="VIRTUAL_MODEL_EXISTS",
        name=name,
        env=env,
        project=project,
    )


def router_unsupported(env: str, backend: str) -> InvalidInput:
    return InvalidInput(
        f"'{env}' is a {backend} environment that names no gateway (env_configs.gateway): "
        "virtual models run on Ray, or on Kubernetes through Envoy AI Gateway",
        code="LLM_ROUTER_UNSUPPORTED",
        env=env,
        backend=backend,
    )
