"""The builders a worker can use, as configured."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import yaml
from kubernetes_asyncio import client, config

from galapagos_core.artifacts.builds.base import Builder
from galapagos_core.artifacts.builds.external import ExternalBuilder
from galapagos_core.artifacts.builds.git import GitCredentials
from galapagos_core.artifacts.builds.kaniko import ApiClientFactory, KanikoBuilder
from galapagos_core.artifacts.builds.local import LocalBuilder
from galapagos_core.artifacts.builds.store import DirectoryStore
from galapagos_core.kernel.boundaries import git_hosts, local_sources
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.kernel.kubernetes import api_client
from galapagos_model.enums import BuilderKind


def configured_builders(settings: Settings, http: HttpClient) -> Mapping[BuilderKind, Builder]:
    builds = settings.builds
    builders: dict[BuilderKind, Builder] = {
        BuilderKind.LOCAL: LocalBuilder(
            DirectoryStore(settings.package_dir),
            work_root=settings.data_dir / "builds",
            credentials=GitCredentials(
                username=builds.git_username,
                password=builds.git_password,
                ssh_key_path=builds.git_ssh_key,
            ),
            git_timeout=builds.git_timeout_seconds,
            max_source_bytes=int(builds.max_source_mb * 1024 * 1024),
            default_import_path=builds.default_import_path,
            local_paths=local_sources(settings),
            git_hosts=git_hosts(settings),
        )
    }
    if builds.external.url:
        builders[BuilderKind.EXTERNAL] = ExternalBuilder(
            http,
            base_url=builds.external.url,
            image_repository=builds.external.image_repository,
            poll_interval=builds.poll_interval_seconds,
        )
    if builds.kaniko.registry:
        builders[BuilderKind.KANIKO] = KanikoBuilder(
            kubernetes_client_factory(builds.kaniko.kubeconfig),
            builds.kaniko,
            poll_interval=builds.poll_interval_seconds,
        )
    return builders


def kubernetes_client_factory(kubeconfig: Path | None) -> ApiClientFactory:
    """Clients from a kubeconfig file, or the pod's service account when there is none."""

    async def make() -> client.ApiClient:
        if kubeconfig is not None:
            text = await asyncio.to_thread(kubeconfig.read_text)
            return await api_client(yaml.safe_load(text))
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration)

    return make
