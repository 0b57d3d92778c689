"""KMock's Kubernetes emulator, with what our clients need that it does not do by itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kmock
import yaml

ISVC = "serving.kserve.io/v1beta1/inferenceservices"
RAYSERVICE = "ray.io/v1/rayservices"
HTTPROUTE = "gateway.networking.k8s.io/v1/httproutes"
NAMESPACE = "serving"  # where the tests' environments put their objects


def _matches(labels: dict[str, str], selector: str | None) -> bool:
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def prepare(emulator: kmock.KubernetesEmulator, *resources: str) -> None:
    """Declare ``resources`` (group/version/plural), answer their creates with 201 and the
    object as the real API server does, and honour equality label selectors on their lists
    (any other resource is not served: 404, as on a cluster without its CRD)."""
    for resource in resources:
        emulator.resources[resource] = {}

    def listing(request: kmock.Request) -> dict[str, Any]:
        selector = request.params.get("labelSelector")
        items = [
            stored.raw
            for (resource, namespace, _), stored in emulator.objects.items()
            if resource == request.resource
            and not stored.deleted
            and (request.namespace is None or namespace == request.namespace)
            and _matches(stored.get("metadata", {}).get("labels") or {}, selector)
        ]
        return {
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": "1"},
            "items": items,
        }

    for resource in resources:
        served = emulator[kmock.resource(resource)]
        served[kmock.action.CREATE] << 201 << (lambda request: request.data)
        served[kmock.action.LIST] << listing


def kubeconfig(emulator: kmock.KubernetesEmulator, path: Path) -> Path:
    """A kubeconfig file pointing at the emulator."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "kmock",
                "clusters": [{"name": "kmock", "cluster": {"server": str(emulator.url)}}],
                "users": [{"name": "kmock", "user": {}}],
                "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
            }
        )
    )
    return path


def kubeconfig_text(server: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "kmock",
            "clusters": [{"name": "kmock", "cluster": {"server": server}}],
            "users": [{"name": "kmock", "user": {}}],
            "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock"}}],
        }
    )


def stored(emulator: kmock.KubernetesEmulator, resource: str, name: str) -> dict[str, Any]:
    """The object as the emulator holds it now (a plain dict)."""
    raw: dict[str, Any] = emulator.objects[resource, NAMESPACE, name].raw
    return json.loads(json.dumps(raw))


def exists(emulator: kmock.KubernetesEmulator, resource: str, name: str) -> bool:
    # Lookups parse the resource string; ``in`` does not, so it would always say no.
    try:
        return not emulator.objects[resource, NAMESPACE, name].deleted
    except KeyError:
        return False


def set_status(
    emulator: kmock.KubernetesEmulator, resource: str, name: str, status: dict[str, Any]
) -> None:
    """What the operator would write: the whole status replaced."""
    emulator.objects[resource, NAMESPACE, name].patch({"status": None})
    emulator.objects[resource, NAMESPACE, name].patch({"status": status})


def calls(emulator: kmock.KubernetesEmulator, action: kmock.action) -> list[kmock.Request]:
    return list(emulator[action])
