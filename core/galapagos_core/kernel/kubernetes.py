"""Kubernetes API clients from decrypted kubeconfigs, leaving no key material on disk, one
per cluster and rebuilt when the cluster's record changes.

kubernetes-asyncio writes a kubeconfig's certificate and key data to temporary files (and
keeps them until the interpreter exits), because Python's TLS layer loads a client key only
from a path. Here each ``…-data`` field becomes an anonymous in-memory file (``memfd``, named
``/proc/self/fd/N``), the client's TLS context reads it while the client is built, and the
file is closed at once. Where memfd does not exist, the files go to a private 0700 folder
that is removed as soon as the client is built.
"""

from __future__ import annotations

import base64
import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config

from galapagos_model.catalog import Cluster

KubeconfigOpener = Callable[[Cluster], dict[str, Any]]
# (section, entry, data key, path key) of every field that holds key material.
_MATERIAL = (
    ("clusters", "cluster", "certificate-authority-data", "certificate-authority"),
    ("users", "user", "client-certificate-data", "client-certificate"),
    ("users", "user", "client-key-data", "client-key"),
)


async def api_client(kubeconfig: dict[str, Any]) -> client.ApiClient:
    """A client for ``kubeconfig``'s current context; no file of its material outlives this."""
    with ExitStack() as files:
        loadable = _as_paths(kubeconfig, files)
        configuration = client.Configuration()
        await config.load_kube_config_from_dict(loadable, client_configuration=configuration)
        return client.ApiClient(configuration)  # its TLS context reads the files here


def _as_paths(kubeconfig: dict[str, Any], files: ExitStack) -> dict[str, Any]:
    """A copy of ``kubeconfig`` whose key material is in transient files, named by path."""
    loadable = copy.deepcopy(kubeconfig)
    folder = files.enter_context(_private_folder()) if not hasattr(os, "memfd_create") else None
    for section, entry, data_key, path_key in _MATERIAL:
        for item in loadable.get(section) or []:
            fields = (item or {}).get(entry) or {}
            if data_key in fields:
                content = base64.standard_b64decode(fields.pop(data_key))
                fields[path_key] = files.enter_context(_transient_file(content, folder))
    return loadable


@contextmanager
def _transient_file(content: bytes, folder: Path | None) -> Iterator[str]:
    if folder is None:
        fd = os.memfd_create("kube-material", os.MFD_CLOEXEC)
        try:
            os.write(fd, content)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(dir=folder)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    yield path


@contextmanager
def _private_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="galapagos-kube-"))  # mode 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class KubeClients:
    """One ApiClient per cluster, rebuilt when the cluster's record (kubeconfig) changes."""

    def __init__(self, open_kubeconfig: KubeconfigOpener) -> None:
        self.open_kubeconfig = open_kubeconfig
        self._clients: dict[Any, tuple[Any, client.ApiClient]] = {}

    async def for_cluster(self, cluster: Cluster) -> client.ApiClient:
        cached = self._clients.get(cluster.id)
        if cached is not None and cached[0] == cluster.updated_at:
            return cached[1]
        if cached is not None:
            await cached[1].close()
        api = await api_client(self.open_kubeconfig(cluster))
        self._clients[cluster.id] = (cluster.updated_at, api)
        return api

    async def close(self) -> None:
        for _, api in self._clients.values():
            await api.close()
        self._clients.clear()
