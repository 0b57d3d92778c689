"""Kubernetes objects of any kind in one namespace, read and written as the API's JSON with
kubernetes-asyncio: Secrets through the core API, every other kind through the custom objects
API. An update is a JSON merge patch from the live object to the wanted one. A failed call is a
``BackendError`` saying what was being done to which object; an absent kind lists empty, an
absent object reads as ``None``, and create and delete say whether the object was (not) there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from galapagos_core.workloads.spec import BackendError

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


SECRET = Resource("", "v1", "secrets", "Secret")


def merge_patch(live: Any, wanted: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``live`` into ``wanted``: ``wanted`` with
    ``None`` for every key only ``live`` has (lists are replaced whole by merge patches)."""
    if not isinstance(live, dict) or not isinstance(wanted, dict):
        return wanted
    patch = {key: merge_patch(live.get(key), value) for key, value in wanted.items()}
    patch.update({key: None for key in live if key not in wanted})
    return patch


def body(manifest: dict[str, Any]) -> dict[str, Any]:
    """What is written to an object besides its metadata (``spec``, or a Secret's data)."""
    skip = ("apiVersion", "kind", "metadata", "status")
    return {k: v for k, v in manifest.items() if k not in skip}


@contextmanager
def _calling(doing: str, r: Resource, name: str) -> Iterator[None]:
    try:
        yield
    except ApiException as exc:
        raise BackendError(f"{doing} {r.kind} {name}: {exc.status} {exc.reason}") from exc
    except aiohttp.ClientError as exc:
        raise BackendError(f"{doing} {r.kind} {name}: Kubernetes unreachable: {exc}") from exc


class KubeObjects:
    """The objects of one namespace, whatever their kind."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._json = api_client.sanitize_for_serialization

    async def list(self, r: Resource, selector: str) -> list[dict[str, Any]]:
        """The objects of kind ``r`` carrying ``selector``'s labels (none where the API server
        does not serve the kind)."""
        with _calling("listing", r, f"objects ({selector})"):
            try:
                if r == SECRET:
                    secrets = await self._core.list_namespaced_secret(
                        self.namespace, label_selector=selector
                    )
                    return [self._json(s) for s in secrets.items]
                found = await self._custom.list_namespaced_custom_object(
                    r.group, r.version, self.namespace, r.plural, label_selector=selector
                )
            except ApiException as exc:
                if exc.status == 404:
                    return []
                raise
        return list(found.get("items", []))

    async def get(self, r: Resource, name: str) -> dict[str, Any] | None:
        with _calling("reading", r, name):
            try:
                live: dict[str, Any]
                if r == SECRET:
                    live = self._json(await self._core.read_namespaced_secret(name, self.namespace))
                else:
                    live = await self._custom.get_namespaced_custom_object(
                        r.group, r.version, self.namespace, r.plural, name
                    )
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
        return live

    async def create(self, r: Resource, manifest: dict[str, Any]) -> bool:
        """False where an object of that name exists already."""
        with _calling("creating", r, manifest["metadata"]["name"]):
            try:
                if r == SECRET:
                    await self._core.create_namespaced_secret(self.namespace, manifest)  # type: ignore[arg-type]
                else:
                    await self._custom.create_namespaced_custom_object(
                        r.group, r.version, self.namespace, r.plural, manifest
                    )
            except ApiException as exc:
                if exc.status == 409:
                    return False
                raise
        return True

    async def update(self, r: Resource, manifest: dict[str, Any], live: dict[str, Any]) -> None:
        """Merge-patch ``live`` to ``manifest`` (its labels and annotations, and all but its
        metadata): a merge patch only adds and overwrites, so what ``live`` has and
        ``manifest`` does not (an autoscaling target dropped, a model replaced by a
        container) is nulled out."""
        name, metadata = manifest["metadata"]["name"], manifest["metadata"]
        patch = {
            "metadata": {
                "labels": metadata.get("labels") or {},
                "annotations": metadata.get("annotations") or {},
            },
            **merge_patch(body(live), body(manifest)),
        }
        with _calling("updating", r, name):
            if r == SECRET:
                await self._core.patch_namespaced_secret(
                    name, self.namespace, patch,
                    _content_type=MERGE_PATCH,  # type: ignore[call-arg]
                )  # fmt: skip
            else:
                await self._custom.patch_namespaced_custom_object(
                    r.group, r.version, self.namespace, r.plural, name, patch,
                    _content_type=MERGE_PATCH,  # type: ignore[call-arg]
                )  # fmt: skip

    async def delete(self, r: Resource, name: str) -> bool:
        """False where there was no such object."""
        with _calling("deleting", r, name):
            try:
                if r == SECRET:
                    await self._core.delete_namespaced_secret(name, self.namespace)
                else:
                    await self._custom.delete_namespaced_custom_object(
                        r.group, r.version, self.namespace, r.plural, name
                    )
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise
        return True
