"""Kubernetes objects of any kind in one namespace, read and written as the API's JSON with
kubernetes-asyncio: Secrets through the core API, every other kind through the custom objects
API. An update is a JSON merge patch from the live object to the wanted one. A failed call is a
``BackendError`` saying what was being done to which object; an absent kind lists empty, an
absent object reads as ``None``, and create and delete say whether the object was (not) there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
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


async def _unless(status: int, call: Awaitable[Any]) -> Any | None:
    """``call``'s answer, or None where the API server answers ``status``."""
    try:
        return await call
    except ApiException as exc:
        if exc.status == status:
            return None
        raise


class KubeObjects:
    """The objects of one namespace, whatever their kind."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._json = api_client.sanitize_for_serialization  # typed answers as the API's JSON

    async def list(self, r: Resource, selector: str) -> list[dict[str, Any]]:
        """The objects of kind ``r`` carrying ``selector``'s labels (none where the API server
        does not serve the kind)."""
        ns = self.namespace
        with _calling("listing", r, f"objects ({selector})"):
            found = await _unless(
                404,
                self._core.list_namespaced_secret(ns, label_selector=selector)
                if r == SECRET
                else self._custom.list_namespaced_custom_object(
                    r.group, r.version, ns, r.plural, label_selector=selector
                ),
            )
        return [] if found is None else list(self._json(found).get("items") or [])

    async def get(self, r: Resource, name: str) -> dict[str, Any] | None:
        ns = self.namespace
        with _calling("reading", r, name):
            live = await _unless(
                404,
                self._core.read_namespaced_secret(name, ns)
                if r == SECRET
                else self._custom.get_namespaced_custom_object(
                    r.group, r.version, ns, r.plural, name
                ),
            )
        return None if live is None else dict(self._json(live))

    async def create(self, r: Resource, manifest: dict[str, Any]) -> bool:
        """False where an object of that name exists already."""
        ns = self.namespace
        with _calling("creating", r, manifest["metadata"]["name"]):
            created = await _unless(
                409,
                self._core.create_namespaced_secret(ns, manifest)  # type: ignore[arg-type]
                if r == SECRET
                else self._custom.create_namespaced_custom_object(
                    r.group, r.version, ns, r.plural, manifest
                ),
            )
        return created is not None

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
        ns = self.namespace
        merge: dict[str, Any] = {"_content_type": MERGE_PATCH}  # not in the client's stubs
        with _calling("updating", r, name):
            if r == SECRET:
                await self._core.patch_namespaced_secret(name, ns, patch, **merge)
            else:
                await self._custom.patch_namespaced_custom_object(
                    r.group, r.version, ns, r.plural, name, patch, **merge
                )

    async def delete(self, r: Resource, name: str) -> bool:
        """False where there was no such object."""
        ns = self.namespace
        with _calling("deleting", r, name):
            deleted = await _unless(
                404,
                self._core.delete_namespaced_secret(name, ns)
                if r == SECRET
                else self._custom.delete_namespaced_custom_object(
                    r.group, r.version, ns, r.plural, name
                ),
            )
        return deleted is not None
