"""A set of Kubernetes objects the platform keeps as wanted, for capabilities that own several
objects per thing (a virtual model's gateway route, backends, policies and Secrets): each
kind listed once by label, objects missing created, changed ones merge-patched (told apart by
the hash of what was rendered, kept as an annotation), and those nobody wants any more deleted
(galapagos_core.workloads.backends.kube_objects)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.workloads.backends.custom_resources import SPEC_HASH
from galapagos_core.workloads.backends.kube_objects import KubeObjects, Resource, body
from galapagos_core.workloads.spec import BackendError, contains
from galapagos_model.catalog import Environment


def digest(manifest: dict[str, Any]) -> str:
    content = {k: v for k, v in manifest.items() if k != "metadata"}
    content["labels"] = manifest["metadata"].get("labels") or {}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _drifted(live: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """Rendered from something else, or changed since (the API server's defaults aside)."""
    marker = (live["metadata"].get("annotations") or {}).get(SPEC_HASH)
    return marker != digest(manifest) or not contains(body(live), body(manifest))


class ObjectSet:
    """The objects of ``kinds`` carrying ``selector``'s labels in an environment's namespace."""

    def __init__(self, clients: KubeClients, kinds: tuple[Resource, ...]) -> None:
        self.clients = clients
        self.kinds = {r.kind: r for r in kinds}

    async def sync(
        self, environment: Environment, namespace: str, selector: str, wanted: list[dict[str, Any]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Make the set ``wanted``; what is live afterwards, by (kind, name), as last read
        (objects just created or patched: as written)."""
        if environment.cluster is None:
            raise BackendError(f"environment '{environment.name}' has no cluster")
        objects = KubeObjects(await self.clients.for_cluster(environment.cluster), namespace)
        live: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.kinds.values():
            for item in await objects.list(r, selector):
                live[r.kind, item["metadata"]["name"]] = item
        keys = set()
        for manifest in wanted:
            r, name = self.kinds[manifest["kind"]], manifest["metadata"]["name"]
            keys.add((r.kind, name))
            manifest["metadata"].setdefault("annotations", {})[SPEC_HASH] = digest(manifest)
            found = live.get((r.kind, name))
            if found is None:
                if not await objects.create(r, manifest):
                    raise BackendError(f"{r.kind} {name} was created meanwhile")
            elif _drifted(found, manifest):
                await objects.update(r, manifest, found)
            else:
                continue
            live[r.kind, name] = manifest
        for kind, name in [k for k in live if k not in keys]:
            await objects.delete(self.kinds[kind], name)
            del live[kind, name]
        return live
