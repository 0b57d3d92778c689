"""The KServe and KubeRay backends through kubernetes-asyncio against KMock's Kubernetes
emulator: what they create, patch, delete and list, how they read status, and that every
object they render fits the upstream CRD (strictly: unknown fields are errors)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import kmock
import pytest
import yaml

from galapagos_core.artifacts.links import PackageLinks
from galapagos_core.catalog.clusters import ClusterService, kubeconfig_context
from galapagos_core.kernel.config import Settings
from galapagos_core.kernel.kubernetes import KubeClients
from galapagos_core.kernel.secrets import SecretBox, SecretError
from galapagos_core.services import secret_box
from galapagos_core.workloads.backends.custom_resources import SPEC_HASH
from galapagos_core.workloads.backends.kserve import KServeBackend
from galapagos_core.workloads.backends.kube_objects import MERGE_PATCH
from galapagos_core.workloads.backends.kuberay import KubeRayBackend
from galapagos_core.workloads.reconciler import Reconciler
from galapagos_core.workloads.spec import BackendError, WorkloadBackend, WorkloadSpec
from galapagos_model.catalog import Cluster, Environment
from galapagos_model.deployments import Deployment, Workload
from galapagos_model.enums import (
    ArtifactKind,
    DeploymentStatus,
    EnvironmentBackend,
    NodeCapacityType,
    WorkloadState,
)
from tests.factories import bearer
from tests.kube import crds, emulator
from tests.kube.emulator import (
    HTTPROUTE,
    ISVC,
    NAMESPACE,
    RAYSERVICE,
    calls,
    exists,
    kubeconfig_text,
    set_status,
    stored,
)

RUNTIME_SHA = "a" * 64
PACKAGE_SHA = "b" * 64
LINKS = PackageLinks("http://cp", [b"k" * 32], 86400)


# --- arrangement -------------------------------------------------------------------------


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return secret_box(settings)


@pytest.fixture
async def clients(box: SecretBox) -> AsyncIterator[KubeClients]:
    clients = KubeClients(ClusterService(box).kubeconfig)
    yield clients
    await clients.close()


@pytest.fixture
async def cluster(kmock: kmock.KubernetesEmulator, box: SecretBox) -> Cluster:
    emulator.prepare(kmock, ISVC, RAYSERVICE, HTTPROUTE)
    return await Cluster.create(
        name="kmock",
        api_server_url=str(kmock.url),
        kubeconfig_encrypted=box.seal(kubeconfig_text(str(kmock.url)), kubeconfig_context("kmock")),
    )


@pytest.fixture
async def kserve_env(cluster: Cluster) -> Environment:
    return await Environment.create(
        name="kserve-prod",
        backend=EnvironmentBackend.KSERVE,
        cluster=cluster,
        env_configs={"namespace": NAMESPACE},
    )


@pytest.fixture
async def kuberay_env(cluster: Cluster) -> Environment:
    return await Environment.create(
        name="kuberay-prod",
        backend=EnvironmentBackend.KUBERAY,
        cluster=cluster,
        env_configs={"namespace": NAMESPACE},
    )


@pytest.fixture
def kserve(clients: KubeClients) -> KServeBackend:
    return KServeBackend(clients)


@pytest.fixture
def kuberay(clients: KubeClients) -> KubeRayBackend:
    return KubeRayBackend(clients, LINKS, RUNTIME_SHA, default_cpus=0.1)


def workload(environment: str, kind: ArtifactKind, **changes: Any) -> WorkloadSpec:
    fields: dict[str, Any] = {
        "name": f"iris-{environment}",
        "project": "vision",
        "serve": "iris",
        "environment": environment,
        "deployment_id": "0d6c1f6e-8a5b-4c1e-9f3e-2b7a9c4d5e6f",
        "route_prefix": "/iris",
        "artifact_kind": kind,
        "artifact_version": "v1",
        "cpus": 0.5,
        "memory_gib": 1.5,
    }
    if kind == ArtifactKind.MODEL:
        fields.update(model_uri="s3://bucket/iris.joblib", model_format="sklearn")
    elif kind == ArtifactKind.IMAGE:
        fields.update(image_url="registry.local/serves/iris:v1")
    else:
        fields.update(package_sha256=PACKAGE_SHA, import_path="main:Model")
    return WorkloadSpec(**(fields | changes))


def model_spec(**changes: Any) -> WorkloadSpec:
    return workload("kserve-prod", ArtifactKind.MODEL, **changes)


def package_spec(**changes: Any) -> WorkloadSpec:
    """The serve's application on KubeRay, named as the serve's RayService is."""
    return workload("kuberay-prod", ArtifactKind.PACKAGE, **({"name": "iris"} | changes))


def assert_managed_labels(obj: dict[str, Any], environment: str, spec: WorkloadSpec) -> None:
    assert obj["metadata"]["name"] == spec.name
    assert obj["metadata"]["namespace"] == NAMESPACE
    assert obj["metadata"]["labels"] == {
        "galapagos.io/managed-by": "galapagos",
        "galapagos.io/project": "vision",
        "galapagos.io/serve": "iris",
        "galapagos.io/environment": environment,
        "galapagos.io/deployment": spec.deployment_id,
    }
    assert obj["metadata"]["annotations"][SPEC_HASH] == spec.digest()


# --- the CRD check itself ------------------------------------------------------------------


def test_crd_validation_rejects_misspelt_and_mistyped_fields() -> None:
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris", "anything": {"goes": "here"}},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m"},
            }
        },
    }
    crds.validate(isvc)  # a valid object passes, metadata unchecked

    isvc["spec"]["predictor"]["minReplica"] = 2
    isvc["spec"]["predictor"]["model"]["resources"] = {"limits": {"cpu": 0.5, "memory": "1 GB"}}
    with pytest.raises(AssertionError) as failure:
        crds.validate(isvc)
    report = str(failure.value)
    assert "$.spec.predictor: Additional properties are not allowed ('minReplica'" in report
    assert "$.spec.predictor.model.resources.limits.cpu" in report  # a float is no quantity
    assert "$.spec.predictor.model.resources.limits.memory" in report

    with pytest.raises(AssertionError, match="no CRD known"):
        crds.validate({"apiVersion": "ray.io/v1", "kind": "RayJobz", "spec": {}})


def test_crd_validation_keeps_open_maps_open() -> None:
    """Fields the CRD leaves open (labels, rayStartParams) accept any key."""
    rayservice = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "iris"},
        "spec": {
            "rayClusterConfig": {
                "headGroupSpec": {
                    "rayStartParams": {"whatever-flag": "1"},
                    "template": {
                        "metadata": {"labels": {"any": "label"}},
                        "spec": {"containers": [{"name": "head", "image": "ray"}]},
                    },
                }
            }
        },
    }
    crds.validate(rayservice)
    rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containerz"] = []
    with pytest.raises(AssertionError, match="containerz"):
        crds.validate(rayservice)


# --- KServe --------------------------------------------------------------------------------


async def test_kserve_apply_creates_a_valid_model_inference_service(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    spec = model_spec(min_replicas=1, max_replicas=3, autoscaling_target=8, env_vars={"A": "1"})
    await kserve.apply(kserve_env, [spec])

    creates = calls(kmock, kmock.action.CREATE)
    assert len(creates) == 1
    assert creates[0].resource == kmock.resource(ISVC)
    assert creates[0].namespace == NAMESPACE
    isvc = stored(kmock, ISVC, spec.name)
    assert_managed_labels(isvc, "kserve-prod", spec)
    crds.validate(isvc)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    predictor = isvc["spec"]["predictor"]
    assert predictor["minReplicas"] == 1
    assert predictor["maxReplicas"] == 3
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("concurrency", 8)
    assert predictor["model"]["modelFormat"] == {"name": "sklearn"}
    assert predictor["model"]["storageUri"] == "s3://bucket/iris.joblib"
    assert predictor["model"]["env"] == [{"name": "A", "value": "1"}]
    assert predictor["model"]["resources"]["requests"] == {"cpu": "0.5", "memory": "1.5Gi"}
    assert predictor["nodeSelector"] == {"karpenter.sh/capacity-type": "spot"}


async def test_kserve_serves_mlflow_models_with_its_own_runtime(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    spec = model_spec(model_format="mlflow", model_uri="s3://bucket/iris-mlflow")
    await kserve.apply(kserve_env, [spec])
    isvc = stored(kmock, ISVC, spec.name)
    crds.validate(isvc)
    model = isvc["spec"]["predictor"]["model"]
    assert (model["modelFormat"], model["storageUri"]) == (
        {"name": "mlflow"},
        "s3://bucket/iris-mlflow",
    )


async def test_kserve_image_artifact_is_a_custom_container(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    spec = workload("kserve-prod", ArtifactKind.IMAGE, env_vars={"MODE": "fast"})
    await kserve.apply(kserve_env, [spec])

    isvc = stored(kmock, ISVC, spec.name)
    crds.validate(isvc)
    assert_managed_labels(isvc, "kserve-prod", spec)
    predictor = isvc["spec"]["predictor"]
    assert "model" not in predictor
    [container] = predictor["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == "registry.local/serves/iris:v1"
    assert container["env"] == [{"name": "MODE", "value": "fast"}]


async def test_kserve_on_demand_gpu_capacity(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    spec = model_spec(node_capacity=NodeCapacityType.ON_DEMAND, gpus=2, gpu_type="NVIDIA-A100")
    await kserve.apply(kserve_env, [spec])

    isvc = stored(kmock, ISVC, spec.name)
    crds.validate(isvc)
    predictor = isvc["spec"]["predictor"]
    assert predictor["nodeSelector"] == {
        "karpenter.sh/capacity-type": "on-demand",
        "nvidia.com/gpu.product": "NVIDIA-A100",
    }
    assert "spot" not in json.dumps(isvc)
    resources = predictor["model"]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "2"
    assert resources["requests"]["nvidia.com/gpu"] == "2"


async def test_kserve_reapply_merge_patches_and_delete_deletes(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    first = model_spec(max_replicas=2)
    await kserve.apply(kserve_env, [first])
    created_uid = stored(kmock, ISVC, first.name)["metadata"].get("uid")

    second = model_spec(max_replicas=6, artifact_version="v2")
    await kserve.apply(kserve_env, [second])

    [patch] = calls(kmock, kmock.action.UPDATE)
    assert patch.headers["Content-Type"].startswith(MERGE_PATCH)
    assert (patch.namespace, patch.name) == (NAMESPACE, first.name)
    assert patch.data["spec"]["predictor"]["maxReplicas"] == 6
    isvc = stored(kmock, ISVC, first.name)
    assert isvc["metadata"].get("uid") == created_uid  # the same object, updated in place
    assert isvc["spec"]["predictor"]["maxReplicas"] == 6
    assert isvc["metadata"]["annotations"][SPEC_HASH] == second.digest()
    crds.validate(isvc)

    await kserve.delete(kserve_env, [first.name])
    [delete] = calls(kmock, kmock.action.DELETE)
    assert (delete.namespace, delete.name) == (NAMESPACE, first.name)
    assert not exists(kmock, ISVC, first.name)

    await kserve.delete(kserve_env, [first.name, "never-existed"])  # absent: fine
    assert len(calls(kmock, kmock.action.DELETE)) == 5  # each asked as both of its kinds


async def test_a_kind_the_cluster_does_not_serve_lists_empty_and_writing_one_says_which(
    kmock: kmock.KubernetesEmulator, clients: KubeClients, box: SecretBox
) -> None:
    """A cluster without the Gateway API: the KServe pass still sees its InferenceServices,
    and a serve's router (an HTTPRoute) fails with an error naming the kind and the answer."""
    emulator.prepare(kmock, ISVC)
    kmock[kmock.resource(HTTPROUTE)] << 404  # not served
    cluster = await Cluster.create(
        name="bare",
        api_server_url=str(kmock.url),
        kubeconfig_encrypted=box.seal(kubeconfig_text(str(kmock.url)), kubeconfig_context("bare")),
    )
    environment = await Environment.create(
        name="kserve-prod",
        backend=EnvironmentBackend.KSERVE,
        cluster=cluster,
        env_configs={"namespace": NAMESPACE, "gateway": {"name": "edge", "domain": "example.test"}},
    )
    backend = KServeBackend(clients)
    spec = model_spec()
    await backend.apply(environment, [spec])
    assert set(await backend.observe(environment)) == {spec.name}

    stable = {"name": "stable", "app": spec.name, "weight": 100, "shadow": False}
    router = model_spec(
        name="iris-router",
        routing={"default": "stable", "variants": [stable | {"header_match": {}}]},
    )
    with pytest.raises(BackendError, match=r"^creating HTTPRoute iris-router: 404"):
        await backend.apply(environment, [router])


async def test_kserve_update_removes_what_the_new_spec_no_longer_sets(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    """A merge patch only overwrites: settings the new spec drops must be nulled out, or the
    old autoscaling, GPUs and model linger (and the object still "matches")."""
    first = model_spec(autoscaling_target=8, gpus=1, gpu_type="NVIDIA-L4", env_vars={"A": "1"})
    await kserve.apply(kserve_env, [first])

    image = workload("kserve-prod", ArtifactKind.IMAGE, artifact_version="v2")
    await kserve.apply(kserve_env, [image])

    isvc = stored(kmock, ISVC, image.name)
    crds.validate(isvc)
    predictor = isvc["spec"]["predictor"]
    assert "model" not in predictor
    assert "scaleMetric" not in predictor
    assert "scaleTarget" not in predictor
    assert predictor["nodeSelector"] == {"karpenter.sh/capacity-type": "spot"}
    assert "nvidia.com/gpu" not in predictor["containers"][0]["resources"]["limits"]


_READY = {
    "observedGeneration": 1,
    "url": "http://iris-kserve-prod.serving.example.com",
    "conditions": [
        {"type": "IngressReady", "status": "True"},
        {"type": "PredictorReady", "status": "True"},
        {"type": "Ready", "status": "True"},
    ],
}
_REVISION_FAILED = {
    "observedGeneration": 1,
    "conditions": [
        {
            "type": "PredictorReady",
            "status": "False",
            "reason": "RevisionFailed",
            "message": 'Revision "iris-predictor-00001" failed with message: '
            "ModuleNotFoundError: No module named 'sklearn'.",
        },
        {
            "type": "Ready",
            "status": "False",
            "reason": "RevisionFailed",
            "message": 'Revision "iris-predictor-00001" failed with message: '
            "ModuleNotFoundError: No module named 'sklearn'.",
        },
    ],
}
_MODEL_LOAD_FAILED = {
    "observedGeneration": 1,
    "conditions": [
        {
            "type": "PredictorReady",
            "status": "False",
            "reason": "ModelLoadFailed",
            "message": "failed to download s3://bucket/iris.joblib: AccessDenied",
        },
        {"type": "Ready", "status": "False"},
    ],
}
_PROGRESSING = {
    "observedGeneration": 1,
    "conditions": [
        {"type": "PredictorReady", "status": "Unknown", "reason": "Progressing"},
        {"type": "Ready", "status": "False", "reason": "Progressing"},
    ],
}


@pytest.mark.parametrize(
    ("status", "state", "url", "message"),
    [
        (None, WorkloadState.DEPLOYING, None, None),
        ({"observedGeneration": 1}, WorkloadState.DEPLOYING, None, None),
        (_READY, WorkloadState.READY, "http://iris-kserve-prod.serving.example.com", None),
        (_REVISION_FAILED, WorkloadState.FAILED, None, "No module named 'sklearn'"),
        (_MODEL_LOAD_FAILED, WorkloadState.FAILED, None, "AccessDenied"),
        (_PROGRESSING, WorkloadState.DEPLOYING, None, None),
    ],
    ids=["no-status", "no-conditions", "ready", "revision-failed", "load-failed", "progressing"],
)
async def test_kserve_observe_reads_readiness(
    kmock: kmock.KubernetesEmulator,
    kserve: KServeBackend,
    kserve_env: Environment,
    status: dict[str, Any] | None,
    state: WorkloadState,
    url: str | None,
    message: str | None,
) -> None:
    spec = model_spec()
    await kserve.apply(kserve_env, [spec])
    if status is not None:
        set_status(kmock, ISVC, spec.name, status)

    observed = await kserve.observe(kserve_env)

    listings = calls(kmock, kmock.action.LIST)  # one per kind: services and routes
    assert [r.resource for r in listings] == [kmock.resource(ISVC), kmock.resource(HTTPROUTE)]
    for listing in listings:
        assert listing.namespace == NAMESPACE
        assert listing.params["labelSelector"] == (
            "galapagos.io/managed-by=galapagos,galapagos.io/environment=kserve-prod"
        )
    seen = observed[spec.name]
    assert seen.state == state
    assert seen.url == url
    assert seen.spec_hash == spec.digest()
    if message is not None:
        assert seen.message is not None
        assert message in seen.message


async def test_kserve_status_of_an_older_generation_is_not_readiness(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    """Right after an update the status still describes the previous generation: Ready
    then means the old version is ready, not the new one."""
    spec = model_spec()
    await kserve.apply(kserve_env, [spec])
    kmock.objects[ISVC, NAMESPACE, spec.name].patch({"metadata": {"generation": 2}})
    set_status(kmock, ISVC, spec.name, _READY)  # observedGeneration 1

    assert (await kserve.observe(kserve_env))[spec.name].state == WorkloadState.DEPLOYING

    set_status(kmock, ISVC, spec.name, _READY | {"observedGeneration": 2})
    assert (await kserve.observe(kserve_env))[spec.name].state == WorkloadState.READY


async def test_kserve_observe_lists_only_this_environments_objects(
    kmock: kmock.KubernetesEmulator,
    kserve: KServeBackend,
    kserve_env: Environment,
    cluster: Cluster,
) -> None:
    other = await Environment.create(
        name="kserve-staging",
        backend=EnvironmentBackend.KSERVE,
        cluster=cluster,
        env_configs={"namespace": NAMESPACE},
    )
    mine = model_spec()
    theirs = workload("kserve-staging", ArtifactKind.MODEL)
    await kserve.apply(kserve_env, [mine])
    await kserve.apply(other, [theirs])

    assert set(await kserve.observe(kserve_env)) == {mine.name}
    assert set(await kserve.observe(other)) == {theirs.name}
    assert len(calls(kmock, kmock.action.LIST)) == 4  # one per kind and observe


async def test_kserve_matches_until_the_object_drifts(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    spec = model_spec(min_replicas=2, max_replicas=4)
    await kserve.apply(kserve_env, [spec])
    # What the cluster adds (defaults, status) is no drift.
    kmock.objects[ISVC, NAMESPACE, spec.name].patch(
        {"spec": {"predictor": {"model": {"protocolVersion": "v1"}}}, "status": _READY}
    )
    assert kserve.matches(kserve_env, spec, (await kserve.observe(kserve_env))[spec.name])
    assert not kserve.matches(
        kserve_env, model_spec(min_replicas=3), (await kserve.observe(kserve_env))[spec.name]
    )

    kmock.objects[ISVC, NAMESPACE, spec.name].patch({"spec": {"predictor": {"minReplicas": 0}}})
    assert not kserve.matches(kserve_env, spec, (await kserve.observe(kserve_env))[spec.name])

    await kserve.apply(kserve_env, [spec])  # the repair
    assert kserve.matches(kserve_env, spec, (await kserve.observe(kserve_env))[spec.name])


# --- KubeRay -------------------------------------------------------------------------------


def serve_config(rayservice: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(rayservice["spec"]["serveConfigV2"])
    return document


async def test_kuberay_apply_creates_a_valid_rayservice(
    kmock: kmock.KubernetesEmulator, kuberay: KubeRayBackend, kuberay_env: Environment
) -> None:
    spec = package_spec(min_replicas=1, max_replicas=3, env_vars={"A": "1"})
    await kuberay.apply(kuberay_env, [spec])

    [create] = calls(kmock, kmock.action.CREATE)
    assert create.resource == kmock.resource(RAYSERVICE)
    assert create.namespace == NAMESPACE
    rayservice = stored(kmock, RAYSERVICE, spec.name)
    assert rayservice["metadata"]["labels"] == {  # the serve's: its applications have theirs
        "galapagos.io/managed-by": "galapagos",
        "galapagos.io/project": "vision",
        "galapagos.io/serve": "iris",
        "galapagos.io/environment": "kuberay-prod",
    }
    crds.validate(rayservice)

    [app] = serve_config(rayservice)["applications"]
    assert app["name"] == spec.name
    assert app["route_prefix"] == "/iris"
    assert app["args"]["target"] == "main:Model"
    assert app["runtime_env"]["working_dir"] == LINKS.url(PACKAGE_SHA)
    assert app["runtime_env"]["working_dir"].startswith(f"http://cp/packages/{PACKAGE_SHA}.zip?")
    assert app["runtime_env"]["py_modules"] == [LINKS.url(RUNTIME_SHA)]
    assert app["runtime_env"]["env_vars"] == {"A": "1"}
    # The infra config sizes the ingress deployment, whatever the user's application is.
    assert app["import_path"] == "galapagos_runtime.apps:build_app"
    assert app["args"]["ingress"]["autoscaling_config"]["max_replicas"] == 3
    assert "deployments" not in app  # no per-deployment overrides asked for

    cluster = rayservice["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    [workers] = cluster["workerGroupSpecs"]
    assert (workers["minReplicas"], workers["maxReplicas"]) == (1, 3)
    pod = workers["template"]["spec"]
    assert pod["nodeSelector"] == {"karpenter.sh/capacity-type": "spot"}
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "0.5", "memory": "1.5Gi"}


async def test_kuberay_on_demand_gpu_capacity(
    kmock: kmock.KubernetesEmulator, kuberay: KubeRayBackend, kuberay_env: Environment
) -> None:
    spec = package_spec(node_capacity=NodeCapacityType.ON_DEMAND, gpus=1, gpu_type="NVIDIA-L4")
    await kuberay.apply(kuberay_env, [spec])

    rayservice = stored(kmock, RAYSERVICE, spec.name)
    crds.validate(rayservice)
    [workers] = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    pod = workers["template"]["spec"]
    assert pod["nodeSelector"] == {
        "karpenter.sh/capacity-type": "on-demand",
        "nvidia.com/gpu.product": "NVIDIA-L4",
    }
    assert "spot" not in json.dumps(rayservice)
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    [app] = serve_config(rayservice)["applications"]
    assert app["args"]["ingress"]["ray_actor_options"]["num_gpus"] == 1


async def test_kuberay_reapply_merge_patches_and_delete_deletes(
    kmock: kmock.KubernetesEmulator, kuberay: KubeRayBackend, kuberay_env: Environment
) -> None:
    first = package_spec()
    await kuberay.apply(kuberay_env, [first])
    second = package_spec(min_replicas=2, max_replicas=2, artifact_version="v2")
    await kuberay.apply(kuberay_env, [second])

    [patch] = calls(kmock, kmock.action.UPDATE)
    assert patch.headers["Content-Type"].startswith(MERGE_PATCH)
    assert patch.name == first.name
    rayservice = stored(kmock, RAYSERVICE, first.name)
    crds.validate(rayservice)
    [workers] = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert workers["replicas"] == 2
    [app] = serve_config(rayservice)["applications"]
    assert app["args"]["_galapagos"]["spec_hash"] == second.digest()
    assert app["args"]["ingress"]["num_replicas"] == 2

    await kuberay.delete(kuberay_env, [first.name])
    assert [r.name for r in calls(kmock, kmock.action.DELETE)] == [first.name]
    assert not exists(kmock, RAYSERVICE, first.name)
    await kuberay.delete(kuberay_env, [first.name])  # already gone: fine


def _app_status(name: str, status: str, message: str = "") -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "activeServiceStatus": {
            "rayClusterName": f"{name}-raycluster-x7k2p",
            "applicationStatuses": {name: {"status": status, "message": message}},
        },
    }


@pytest.mark.parametrize(
    ("status", "state", "message"),
    [
        (None, WorkloadState.DEPLOYING, None),
        (
            {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
            WorkloadState.READY,
            None,
        ),
        (
            _app_status("iris", "RUNNING")
            | {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}
                ]
            },
            WorkloadState.READY,
            None,
        ),
        (
            _app_status(
                "iris",
                "DEPLOY_FAILED",
                "Failed to import 'main:Model': ModuleNotFoundError: No module named 'main'",
            ),
            WorkloadState.FAILED,
            "No module named 'main'",
        ),
        (_app_status("iris", "DEPLOYING"), WorkloadState.DEPLOYING, None),
        (
            {
                "observedGeneration": 1,
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "Initializing"},
                ],
            },
            WorkloadState.DEPLOYING,
            None,
        ),
    ],
    ids=["no-status", "ready-condition", "ready-running", "deploy-failed", "deploying", "init"],
)
async def test_kuberay_observe_reads_readiness(
    kmock: kmock.KubernetesEmulator,
    kuberay: KubeRayBackend,
    kuberay_env: Environment,
    status: dict[str, Any] | None,
    state: WorkloadState,
    message: str | None,
) -> None:
    spec = package_spec()
    await kuberay.apply(kuberay_env, [spec])
    if status is not None:
        set_status(kmock, RAYSERVICE, spec.name, status)

    observed = await kuberay.observe(kuberay_env)

    [listing] = calls(kmock, kmock.action.LIST)
    assert listing.resource == kmock.resource(RAYSERVICE)
    assert listing.params["labelSelector"] == (
        "galapagos.io/managed-by=galapagos,galapagos.io/environment=kuberay-prod"
    )
    seen = observed[spec.name]
    assert seen.state == state
    assert seen.spec_hash == spec.digest()
    assert seen.url == f"http://{spec.name}-serve-svc.{NAMESPACE}.svc:8000/iris"
    if message is not None:
        assert seen.message is not None
        assert message in seen.message


async def test_kuberay_upgrade_in_progress_is_not_readiness(
    kmock: kmock.KubernetesEmulator, kuberay: KubeRayBackend, kuberay_env: Environment
) -> None:
    """During a zero-downtime upgrade Ready stays True for the old cluster; the new version
    is ready once the pending cluster took over, and fails when its application does."""
    spec = package_spec()
    await kuberay.apply(kuberay_env, [spec])
    ready = {"type": "Ready", "status": "True"}
    upgrading = {"type": "UpgradeInProgress", "status": "True"}
    active = _app_status(spec.name, "RUNNING")["activeServiceStatus"]
    pending = {
        "rayClusterName": f"{spec.name}-raycluster-n3w",
        "applicationStatuses": {spec.name: {"status": "DEPLOYING"}},
    }
    set_status(
        kmock,
        RAYSERVICE,
        spec.name,
        {
            "observedGeneration": 1,
            "conditions": [ready, upgrading],
            "activeServiceStatus": active,
            "pendingServiceStatus": pending,
        },
    )
    assert (await kuberay.observe(kuberay_env))[spec.name].state == WorkloadState.DEPLOYING

    pending["applicationStatuses"] = {
        spec.name: {"status": "DEPLOY_FAILED", "message": "ImportError: cannot import name"}
    }
    set_status(
        kmock,
        RAYSERVICE,
        spec.name,
        {
            "observedGeneration": 1,
            "conditions": [ready, upgrading],
            "activeServiceStatus": active,
            "pendingServiceStatus": pending,
        },
    )
    seen = (await kuberay.observe(kuberay_env))[spec.name]
    assert seen.state == WorkloadState.FAILED
    assert seen.message is not None
    assert "cannot import name" in seen.message


async def test_kuberay_matches_until_the_object_drifts(
    kmock: kmock.KubernetesEmulator, kuberay: KubeRayBackend, kuberay_env: Environment
) -> None:
    spec = package_spec(min_replicas=1, max_replicas=2)
    await kuberay.apply(kuberay_env, [spec])
    assert kuberay.matches(kuberay_env, spec, (await kuberay.observe(kuberay_env))[spec.name])

    kmock.objects[RAYSERVICE, NAMESPACE, spec.name].patch(
        {"spec": {"rayClusterConfig": {"enableInTreeAutoscaling": False}}}
    )
    assert not kuberay.matches(kuberay_env, spec, (await kuberay.observe(kuberay_env))[spec.name])


# --- through the reconciler and the API ----------------------------------------------------


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_kserve_through_the_reconciler(
    kmock: kmock.KubernetesEmulator,
    api: httpx.AsyncClient,
    admin: str,
    settings: Settings,
    server: Any,
    kserve: KServeBackend,
) -> None:
    emulator.prepare(kmock, ISVC, HTTPROUTE)
    h = bearer(admin)
    await _ok(
        await api.post(
            "/api/v1/clusters",
            headers=h,
            json={"name": "kmock", "kubeconfig": kubeconfig_text(str(kmock.url))},
        )
    )
    row = await Cluster.get(name="kmock")
    assert str(kmock.url) not in row.kubeconfig_encrypted
    assert "current-context" not in row.kubeconfig_encrypted
    key_id = row.kubeconfig_encrypted.split(":")[1]
    stranger = SecretBox({key_id: bytes(32)})  # the same key id, another key
    with pytest.raises(SecretError):
        stranger.open(row.kubeconfig_encrypted, kubeconfig_context("kmock"))

    await _ok(
        await api.post(
            "/api/v1/environment",
            headers=h,
            json={
                "name": "kserve-prod",
                "backend": "kserve",
                "cluster": "kmock",
                "environment_configs": {"namespace": NAMESPACE},
            },
        )
    )
    await _ok(
        await api.post(
            "/api/v1/serve", headers=h, json={"name": "iris", "type": "api", "space": "vision"}
        )
    )
    await _ok(
        await api.post(
            "/api/v1/serve/iris/infra-config/kserve-prod",
            headers=h,
            json={
                "api_serve_config": {
                    "fast_api_config": {
                        "cores": 1,
                        "memory": 2,
                        "min_replicas": 1,
                        "max_replicas": 2,
                        "node_capacity_type": "ondemand",
                    }
                }
            },
        )
    )
    for version, uri in (("v1", "s3://bucket/iris.joblib"), ("v2", "s3://bucket/iris2.joblib")):
        await _ok(
            await api.post(
                "/api/v1/artifact/iris/model",
                headers=h,
                json={"version": version, "model_uri": uri, "model_format": "sklearn"},
            )
        )

    services = server[1].state["services"]

    async def backend_for(environment: Environment) -> WorkloadBackend:
        assert environment.backend == EnvironmentBackend.KSERVE
        return kserve

    reconciler = Reconciler(backend_for, services.env_secrets.open_spec, settings.reconcile)

    async def deploy(version: str) -> str:
        result = await _ok(
            await api.post(
                "/api/v1/serve/iris/deploy",
                headers=h,
                json={"env": "kserve-prod", "artifact_version": version},
            )
        )
        return str(result["deployment_id"])

    async def status() -> dict[str, Any]:
        return await _ok(await api.get("/api/v1/serve/iris/status/kserve-prod", headers=h))

    first = await deploy("v1")
    assert await reconciler.run_once() == 1
    row_workload = await Workload.get(serve__name="iris")
    name = row_workload.name
    isvc = stored(kmock, ISVC, name)
    crds.validate(isvc)
    assert isvc["metadata"]["labels"]["galapagos.io/deployment"] == first
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://bucket/iris.joblib"
    assert isvc["spec"]["predictor"]["nodeSelector"]["karpenter.sh/capacity-type"] == "on-demand"
    assert (await Deployment.get(id=first)).status == DeploymentStatus.DEPLOYING

    url = f"http://{name}.{NAMESPACE}.example.com"
    set_status(kmock, ISVC, name, _READY | {"url": url})
    await reconciler.run_once()
    assert (await Deployment.get(id=first)).status == DeploymentStatus.ACTIVE
    now = await status()
    assert (now["status"], now["url"], now["artifact_version"]) == ("READY", url, "v1")
    assert len(calls(kmock, kmock.action.CREATE)) == 1

    second = await deploy("v2")
    await reconciler.run_once()  # patched to v2
    isvc = stored(kmock, ISVC, name)
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://bucket/iris2.joblib"
    crds.validate(isvc)
    set_status(kmock, ISVC, name, _REVISION_FAILED)
    await reconciler.run_once()
    failed = await Deployment.get(id=second)
    assert failed.status == DeploymentStatus.FAILED
    assert failed.error is not None
    assert "No module named 'sklearn'" in failed.error
    assert (await Deployment.get(id=first)).status == DeploymentStatus.ACTIVE
    reverted = await Workload.get(serve__name="iris")
    assert str(reverted.deployment_id) == first

    await reconciler.run_once()  # the previous version goes back
    isvc = stored(kmock, ISVC, name)
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://bucket/iris.joblib"
    assert isvc["metadata"]["labels"]["galapagos.io/deployment"] == first
    now = await status()
    assert now["artifact_version"] == "v1"

    await _ok(await api.post("/api/v1/serve/iris/undeploy/kserve-prod", headers=h))
    await reconciler.run_once()
    assert not exists(kmock, ISVC, name)
    assert [r.name for r in calls(kmock, kmock.action.DELETE)] == [name]
    assert (await status())["status"] == "NOT_READY"


async def test_kserve_knative_mode_is_selectable(
    kmock: kmock.KubernetesEmulator, kserve: KServeBackend, kserve_env: Environment
) -> None:
    kserve_env.env_configs = {**kserve_env.env_configs, "kserve_mode": "knative"}
    spec = model_spec()
    await kserve.apply(kserve_env, [spec])
    isvc = stored(kmock, ISVC, spec.name)
    crds.validate(isvc)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
