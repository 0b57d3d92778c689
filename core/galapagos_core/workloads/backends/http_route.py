"""A serve's traffic router on KServe: a Gateway API ``HTTPRoute``
(gateway.networking.k8s.io/v1) made from the routing table the Ray router reads
(galapagos_runtime.routing).

Each variant is its own InferenceService, reached through its predictor's Service. Header
matches become rules of their own ahead of the weighted rule; weight not given to any variant
stays with the default (stable) one, as on Ray; every shadow variant is a ``RequestMirror``
filter on every rule, copying its share of requests. The route attaches to the Gateway the
environment names (``env_configs.gateway``: ``name``, ``namespace``, ``domain``) and answers on
``<serve>.<domain>``.
"""

from __future__ import annotations

from typing import Any

from galapagos_core.workloads.backends.custom_resources import HTTP_ROUTE, namespace_of
from galapagos_core.workloads.spec import BackendError, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import WorkloadState

GATEWAY_GROUP = "gateway.networking.k8s.io"
PREDICTOR_PORT = 80  # the port of the Service KServe puts in front of a predictor


def gateway_of(environment: Environment) -> dict[str, str] | None:
    """The Gateway the environment's routes attach to, when it names one with a domain."""
    gateway = environment.env_configs.get("gateway")
    if not isinstance(gateway, dict) or not gateway.get("name") or not gateway.get("domain"):
        return None
    return {k: str(v) for k, v in gateway.items() if k in ("name", "namespace", "domain")}


def predictor(app: str) -> dict[str, Any]:
    """A reference to the Service in front of InferenceService ``app``'s predictor."""
    return {"group": "", "kind": "Service", "name": f"{app}-predictor", "port": PREDICTOR_PORT}


def _headers(match: dict[str, str]) -> list[dict[str, str]]:
    return [{"type": "Exact", "name": k, "value": v} for k, v in sorted(match.items())]


def _rules(table: dict[str, Any]) -> list[dict[str, Any]]:
    variants = table["variants"]
    mirrors = [
        {
            "type": "RequestMirror",
            "requestMirror": {"backendRef": predictor(v["app"]), "percent": v["weight"]},
        }
        for v in variants
        if v["shadow"] and v["weight"] > 0
    ]
    primaries = [v for v in variants if not v["shadow"]]
    given = sum(v["weight"] for v in primaries if v["name"] != table["default"])

    def rule(matches: list[dict[str, Any]], refs: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"matches": matches, "backendRefs": refs}
        if mirrors:
            body["filters"] = mirrors
        return body

    everything = {"path": {"type": "PathPrefix", "value": "/"}}
    rules = [
        rule(
            [{**everything, "headers": _headers(v["header_match"])}],
            [{**predictor(v["app"]), "weight": 1}],
        )
        for v in primaries
        if v["header_match"]
    ]
    weighted = [
        {
            **predictor(v["app"]),
            "weight": max(0, 100 - given) if v["name"] == table["default"] else v["weight"],
        }
        for v in primaries
    ]
    rules.append(rule([everything], weighted))
    return rules


def render_route(environment: Environment, spec: WorkloadSpec) -> dict[str, Any]:
    gateway = gateway_of(environment)
    if gateway is None:
        raise BackendError(f"environment '{environment.name}' names no gateway with a domain")
    assert spec.routing is not None
    parent: dict[str, Any] = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gateway["name"]}
    if gateway.get("namespace"):
        parent["namespace"] = gateway["namespace"]
    return {
        "apiVersion": HTTP_ROUTE.api_version,
        "kind": HTTP_ROUTE.kind,
        "metadata": {
            "name": spec.name,
            "namespace": namespace_of(environment),
            "labels": spec.labels(),
        },
        "spec": {
            "parentRefs": [parent],
            "hostnames": [f"{spec.serve}.{gateway['domain']}"],
            "rules": _rules(spec.routing),
        },
    }


def route_status(live: dict[str, Any]) -> tuple[WorkloadState, str | None, str | None]:
    """Ready once every Gateway it attaches to has accepted this generation of it and resolved
    its backends; refused by a Gateway: failed; backends not resolved yet: still deploying."""
    hostnames = (live.get("spec") or {}).get("hostnames") or []
    url = f"http://{hostnames[0]}" if hostnames else None
    generation = (live.get("metadata") or {}).get("generation")
    parents = (live.get("status") or {}).get("parents") or []
    if not parents:
        return WorkloadState.DEPLOYING, url, None
    for parent in parents:
        conditions = {c.get("type"): c for c in parent.get("conditions") or []}
        for kind in ("Accepted", "ResolvedRefs"):
            found = conditions.get(kind) or {}
            seen = found.get("observedGeneration")
            if isinstance(generation, int) and isinstance(seen, int) and seen < generation:
                return WorkloadState.DEPLOYING, url, None  # describes an older spec
            if found.get("status") == "True":
                continue
            why = f"{kind}: {found.get('reason') or 'not reported'}"
            if found.get("message"):
                why += f": {found['message']}"
            failed = kind == "Accepted" and found.get("status") == "False"
            return (WorkloadState.FAILED if failed else WorkloadState.DEPLOYING), url, why
    return WorkloadState.READY, url, None
