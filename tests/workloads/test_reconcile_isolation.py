"""One broken or slow environment never stops the others from being reconciled on time, and
building a Kubernetes client leaves no key material on disk."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
import tempfile
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import httpx
import kmock
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes_asyncio.config import kube_config

from galapagos_core.catalog.clusters import ClusterService, kubeconfig_context
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.secrets import SecretBox
from galapagos_core.services import secret_box
from galapagos_core.workloads.backends.kserve import KServeBackend
from galapagos_core.workloads.reconciler import Reconciler
from galapagos_core.workloads.spec import Observed, WorkloadBackend, WorkloadSpec
from galapagos_model.audit import AuditLog
from galapagos_model.catalog import Cluster, Environment
from galapagos_model.deployments import Deployment
from galapagos_model.enums import ClusterStatus, DeploymentStatus, EnvironmentBackend
from tests.factories import bearer
from tests.kube import emulator
from tests.workloads.test_backends_kube import (
    ISVC,
    NAMESPACE,
    _ok,
    exists,
    kubeconfig_text,
    set_status,
)

_READY = {"conditions": [{"type": "Ready", "status": "True"}], "url": "http://iris.example.com"}


def _tls_kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
                }
            ],
            "users": [
                {
                    "name": "u",
                    "user": {
                        "client-certificate-data": b64(cert_pem),
                        "client-key-data": b64(key_pem),
                    },
                }
            ],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        }
    )


def _certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate and its private key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "galapagos-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _files_under(folder: str) -> set[str]:
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


def _holding(paths: set[str], key_pem: bytes) -> list[str]:
    """Those of ``paths`` holding the key, as PEM or as a kubeconfig's base64 (other
    programs' files are read too, but none of them can hold a key made by this test)."""
    forms = (key_pem.splitlines()[1], base64.b64encode(key_pem))
    found = []
    for path in paths:
        try:
            with open(path, "rb") as file:
                content = file.read()
            if any(form in content for form in forms):
                found.append(path)
        except OSError:  # gone already, or not ours to read
            continue
    return found


async def test_no_key_material_is_left_on_disk(settings: Settings) -> None:
    box = secret_box(settings)
    cert_pem, key_pem = _certificate()
    cluster = await Cluster.create(
        name="tls",
        api_server_url="https://127.0.0.1:6443",
        kubeconfig_encrypted=box.seal(
            _tls_kubeconfig("https://127.0.0.1:6443", cert_pem, cert_pem, key_pem),
            kubeconfig_context("tls"),
        ),
    )
    before = _files_under(tempfile.gettempdir())
    clients = KubeClients(ClusterService(box).kubeconfig)
    api = await clients.for_cluster(cluster)
    assert api.configuration.host == "https://127.0.0.1:6443"
    created = _files_under(tempfile.gettempdir()) - before
    assert not _holding(created, key_pem)
    assert not kube_config._temp_files  # the library's own copies were never made
    await clients.close()


class _Hanging:
    """A backend whose cluster never answers."""

    async def observe(
        self, environment: Environment, probe: Collection[str] = ()
    ) -> dict[str, Observed]:
        await asyncio.sleep(3600)
        return {}

    def matches(self, environment: Environment, spec: WorkloadSpec, observed: Observed) -> bool:
        return True

    async def apply(self, environment: Environment, specs: list[WorkloadSpec]) -> None:
        return None

    async def delete(self, environment: Environment, names: list[str]) -> None:
        return None


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def test_a_broken_and_a_hanging_environment_do_not_hold_back_a_healthy_one(
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
) -> None:
    emulator.prepare(kmock, ISVC)
    box: SecretBox = server[1].state["services"].secrets
    h = bearer(admin)
    broken = await Cluster.create(
        name="broken",
        api_server_url="https://10.255.0.1:6443",
        kubeconfig_encrypted=box.seal(
            _tls_kubeconfig("https://10.255.0.1:6443", b"not a PEM", b"x", b"y"),
            kubeconfig_context("broken"),
        ),
    )
    healthy = await Cluster.create(
        name="kmock",
        api_server_url=str(kmock.url),
        kubeconfig_encrypted=box.seal(kubeconfig_text(str(kmock.url)), kubeconfig_context("kmock")),
    )
    configs = {"namespace": NAMESPACE}
    # Sorted by name, the broken and the hanging environments come first.
    await Environment.create(
        name="a-broken", backend=EnvironmentBackend.KSERVE, cluster=broken, env_configs=configs
    )
    await Environment.create(
        name="b-hanging", backend=EnvironmentBackend.KSERVE, cluster=healthy, env_configs=configs
    )
    await Environment.create(
        name="c-healthy", backend=EnvironmentBackend.KSERVE, cluster=healthy, env_configs=configs
    )
    await _ok(
        await api.post(
            "/api/v1/serve", headers=h, json={"name": "iris", "type": "api", "space": "vision"}
        )
    )
    await _ok(
        await api.post(
            "/api/v1/serve/iris/infra-config/c-healthy",
            headers=h,
            json={"api_serve_config": {"fast_api_config": {"cores": 1, "memory": 2}}},
        )
    )
    await _ok(
        await api.post(
            "/api/v1/artifact/iris/model",
            headers=h,
            json={"version": "v1", "model_uri": "s3://b/iris.joblib", "model_format": "sklearn"},
        )
    )
    deployed = await _ok(
        await api.post(
            "/api/v1/serve/iris/deploy",
            headers=h,
            json={"env": "c-healthy", "artifact_version": "v1"},
        )
    )

    clients = KubeClients(ClusterService(box).kubeconfig)
    kserve = KServeBackend(clients)

    async def backend_for(environment: Environment) -> WorkloadBackend:
        return _Hanging() if environment.name == "b-hanging" else kserve

    timings = settings.reconcile.model_copy(
        update={"interval_seconds": 0.1, "environment_timeout_seconds": 2.0}
    )
    services = server[1].state["services"]
    reconciler = Reconciler(backend_for, services.env_secrets.open_spec, timings)
    stop = asyncio.Event()
    loop = asyncio.create_task(reconciler.run(stop))
    try:

        async def applied() -> bool:
            return exists(kmock, ISVC, "iris")

        await _until(applied, 5)  # well before the hanging pass times out
        set_status(kmock, ISVC, "iris", _READY)

        async def active() -> bool:
            deployment = await Deployment.get(id=deployed["deployment_id"])
            return deployment.status == DeploymentStatus.ACTIVE

        await _until(active, 5)

        async def all_recorded() -> bool:
            rows = {e.name: e for e in await Environment.all()}
            return bool(rows["a-broken"].reconcile_error and rows["b-hanging"].reconcile_error)

        await _until(all_recorded, 10)
    finally:
        stop.set()
        await loop
        await clients.close()

    activation = await AuditLog.get(action="deployment.activate")
    assert (activation.actor, activation.resource_name) == ("system:reconciler", "iris")
    rows = {e.name: e for e in await Environment.all().select_related("cluster")}
    assert rows["c-healthy"].reconcile_error is None
    assert rows["c-healthy"].last_reconciled_at is not None
    assert "SSL" in (rows["a-broken"].reconcile_error or "")
    assert "took longer than 2s" in (rows["b-hanging"].reconcile_error or "")
    cluster = await Cluster.get(name="broken")
    assert cluster.status == ClusterStatus.UNREACHABLE
    assert "environment a-broken" in (cluster.status_message or "")
    shown = await _ok(await api.get("/api/v1/environment/a-broken", headers=h))
    assert "SSL" in shown["reconcile_error"]
