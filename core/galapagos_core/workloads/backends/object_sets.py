"""A set of Kubernetes objects the platform keeps as wanted, for capabilities that own several
objects per thing (a virtual model's gateway route, backends, policies and Secrets): each
kind listed once by label, objects missing created, changed ones merge-patched (told apart by
the hash of what was rendered, kept as an annotation), and those nobody wants any more deleted.
Secrets go through the core API, everything else through the custom objects API."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.workloads.backends.custom_resources import (
    MERGE_PATCH,
    SPEC_HASH,
    Resource,
    merge_patch,
)
from galapagos_core.workloads.spec import BackendError, contains
from galapagos_model.catalog import Environment

SECRET = Resource("", "v1", "secrets", "Secret")


def digest(manifest: dict[str, Any]) -> str:
    content = {k: v for k, v in manifest.items() if k != "metadata"}
    content["labels"] = manifest["metadata"].get("labels") or {}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _plain(secret: client.V1Secret) -> dict[str, Any]:
    """A listed Secret as the API's JSON (what a manifest is compared with)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret.metadata.name,
            "labels": secret.metadata.labels or {},
            "annotations": secret.metadata.annotations or {},
        },
        "type": secret.type,
        "data": secret.data or {},
    }


def _drifted(live: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """Rendered from something else, or changed since (the API server's defaults aside)."""
    marker = (live["metadata"].get("annotations") or {}).get(SPEC_HASH)
    return marker != digest(manifest) or not contains(_body(live), _body(manifest))


def _body(manifest: dict[str, Any]) -> dict[str, Any]:
    """What is written to the object besides its metadata (``spec``, or a Secret's data)."""
    skip = ("apiVersion", "kind", "metadata", "status")
    return {k: v for k, v in manifest.items() if k not in skip}


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
        api_client = await self.clients.for_cluster(environment.cluster)
        custom, core = client.CustomObjectsApi(api_client), client.CoreV1Api(api_client)
        live: dict[tuple[str, str], dict[str, Any]] = {}
        try:
            for r in self.kinds.values():
                for item in await self._list(custom, core, r, namespace, selector):
                    live[r.kind, item["metadata"]["name"]] = item
            keys = set()
            for manifest in wanted:
                key = (manifest["kind"], manifest["metadata"]["name"])
                keys.add(key)
                manifest["metadata"].setdefault("annotations", {})[SPEC_HASH] = digest(manifest)
                found = live.get(key)
                if found is None:
                    await self._create(custom, core, namespace, manifest)
                elif _drifted(found, manifest):
                    await self._patch(custom, core, namespace, manifest, found)
                else:
                    continue
                live[key] = manifest
            for key in [k for k in live if k not in keys]:
                await self._delete(custom, core, namespace, self.kinds[key[0]], key[1])
                del live[key]
        except ApiException as exc:
            raise BackendError(f"Kubernetes refused a call: {exc.status} {exc.reason}") from exc
        except aiohttp.ClientError as exc:
            raise BackendError(f"Kubernetes could not be reached: {exc}") from exc
        return live

    async def _list(
        self,
        custom: client.CustomObjectsApi,
        core: client.CoreV1Api,
        r: Resource,
        namespace: str,
        selector: str,
    ) -> list[dict[str, Any]]:
        if r == SECRET:
            listing = await core.list_namespaced_secret(namespace, label_selector=selector)
            return [_plain(s) for s in listing.items]
        try:
            found = await custom.list_namespaced_custom_object(
                r.group, r.version, namespace, r.plural, label_selector=selector
            )
        except ApiException as exc:
            if exc.status == 404:  # the kind is not installed: none of it is there
                return []
            raise
        return list(found.get("items", []))

    async def _create(
        self,
        custom: client.CustomObjectsApi,
        core: client.CoreV1Api,
        namespace: str,
        manifest: dict[str, Any],
    ) -> None:
        r = self.kinds[manifest["kind"]]
        if r == SECRET:
            await core.create_namespaced_secret(namespace, manifest)  # type: ignore[arg-type]
        else:
            await custom.create_namespaced_custom_object(
                r.group, r.version, namespace, r.plural, manifest
            )

    async def _patch(
        self,
        custom: client.CustomObjectsApi,
        core: client.CoreV1Api,
        namespace: str,
        manifest: dict[str, Any],
        live: dict[str, Any],
    ) -> None:
        r, name = self.kinds[manifest["kind"]], manifest["metadata"]["name"]
        metadata = {
            "labels": manifest["metadata"]["labels"],
            "annotations": manifest["metadata"]["annotations"],
        }
        patch = {"metadata": metadata, **merge_patch(_body(live), _body(manifest))}
        if r == SECRET:
            await core.patch_namespaced_secret(name, namespace, patch)
        else:
            await custom.patch_namespaced_custom_object(
                r.group, r.version, namespace, r.plural, name, patch,
                _content_type=MERGE_PATCH,  # type: ignore[call-arg]
            )  # fmt: skip

    async def _delete(
        self,
        custom: client.CustomObjectsApi,
        core: client.CoreV1Api,
        namespace: str,
        r: Resource,
        name: str,
    ) -> None:
        try:
            if r == SECRET:
                await core.delete_namespaced_secret(name, namespace)
            else:
                await custom.delete_namespaced_custom_object(
                    r.group, r.version, namespace, r.plural, name
                )
        except ApiException as exc:
            if exc.status != 404:
                raise
