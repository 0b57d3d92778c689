"""Which backend serves an environment, with the clients backends share in one process."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from galapagos_core.artifacts.builds import packaging
from galapagos_core.artifacts.builds.store import PackageStore
from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.catalog.clusters import ClusterService
from galapagos_core.catalog.environments import ray_token_context
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.http import HttpClient
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.workloads.backends.kserve import KServeBackend
from galapagos_core.workloads.backends.kuberay import KubeRayBackend
from galapagos_core.workloads.backends.local_ray import LocalRay
from galapagos_core.workloads.backends.ray import RayBackend, RayEndpoint
from galapagos_core.workloads.spec import WorkloadBackend
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend


class Backends:
    def __init__(
        self,
        settings: Settings,
        http: HttpClient,
        secrets: SecretBox,
        store: PackageStore,
        links: PackageLinks,
    ) -> None:
        self.settings = settings
        self.http = http
        self.secrets = secrets
        self.store = store
        self.links = links
        self.local_ray = LocalRay(settings.ray, settings.data_dir, http)
        self.kube = KubeClients(ClusterService(secrets).kubeconfig)
        self._runtime_sha256: str | None = None
        self._lock = asyncio.Lock()
        self.kserve = KServeBackend(self.kube)

    async def for_environment(self, environment: Environment) -> WorkloadBackend:
        if environment.backend == EnvironmentBackend.KSERVE:
            return self.kserve
        runtime, cpus = await self.runtime_sha256(), self.settings.ray.replica_cpus
        if environment.backend == EnvironmentBackend.RAY:
            return RayBackend(self.http, self.ray_endpoint, self.links, runtime, default_cpus=cpus)
        return KubeRayBackend(self.kube, self.links, runtime, default_cpus=cpus)

    async def ray_endpoint(self, environment: Environment) -> RayEndpoint:
        if environment.ray_address == "local":
            return await self.local_ray.ensure_started()
        token = (
            self.secrets.open(environment.ray_token_encrypted, ray_token_context(environment.name))
            if environment.ray_token_encrypted
            else None
        )
        address = str(environment.ray_address or "")
        serve_url = str(environment.env_configs.get("serve_url") or "")
        return RayEndpoint(address, token, serve_url)

    async def runtime_sha256(self) -> str:
        """The runtime package (galapagos_runtime) in the store, published once per process."""
        async with self._lock:
            if self._runtime_sha256 is None:
                package = await asyncio.to_thread(self._zip_runtime)
                await self.store.put(package.path, package.sha256)
                self._runtime_sha256 = package.sha256
            return self._runtime_sha256

    def _zip_runtime(self) -> packaging.Package:
        found = importlib.util.find_spec("galapagos_runtime")
        assert found is not None
        assert found.origin is not None
        module = Path(found.origin).parent
        names = [
            f"{module.name}/{path.relative_to(module).as_posix()}"
            for path in sorted(module.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        ]
        work = self.settings.data_dir / "builds"
        work.mkdir(parents=True, exist_ok=True)
        return packaging.package_tree(module.parent, names, 10**8, work / "runtime.zip")

    async def close(self) -> None:
        await self.local_ray.stop()
        await self.kube.close()
