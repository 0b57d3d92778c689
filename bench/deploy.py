"""Deploy benchmark.

1. On a local Ray (started by `galapagos up`): seconds from ``POST deploy`` to the first
   successful prediction of a package artifact, against Ray's own ``serve deploy`` of the
   same application config in the same run (the ratio; target <= 1.3).
2. One reconciler pass over 2,000 KServe workloads on KMock's emulator (target <= 10 s), with
   the number of list calls (one per resource type) and GETs.

    .venv/bin/python bench/deploy.py [--workloads 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.local import git_repo, platform

MODEL = (
    "class Model:\n    def predict(self, instances):\n        return [len(x) for x in instances]\n"
)
out = sys.stdout.write


def first_prediction(url: str, started: float, timeout: float = 300) -> float:
    while time.perf_counter() - started < timeout:
        try:
            answer = httpx.post(url, json={"instances": [[1, 2, 3]]}, timeout=5)
            if answer.status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} never answered")


def ray_deploy_and_serve(work: Path) -> None:
    """Part 1 (serving itself is bench/serving.py's subject)."""
    repo = git_repo(work / "repo", {"main.py": MODEL})
    with platform(work / "up", reconcile__interval_seconds="0.2") as up:
        api = up.api
        up.register("bench")
        up.build("bench", "v1", repo, "main:Model")

        # Warm-up: the first deploy also starts the local Ray head.
        warm = api.post(
            "/api/v1/serve/bench/deploy?wait=true&timeout=300",
            json={"env": "local", "artifact_version": "v1"},
        ).json()["data"]
        url = warm["service_url"]
        first_prediction(url, time.perf_counter())
        app = up.ray_applications()["bench"]["deployed_app_config"]
        assert isinstance(app, dict)
        # Without the platform's marker, so the reconciler leaves Ray's own deploy alone.
        app["args"] = {k: v for k, v in app["args"].items() if not k.startswith("_")}

        api.post("/api/v1/serve/bench/undeploy/local")
        up.gone("bench")
        started = time.perf_counter()
        deployment = api.post(
            "/api/v1/serve/bench/deploy", json={"env": "local", "artifact_version": "v1"}
        ).json()["data"]
        ours = first_prediction(url, started)
        while (
            api.get(f"/api/v1/serve/bench/deployments/{deployment['deployment_id']}").json()[
                "data"
            ]["status"]
            != "ACTIVE"
        ):
            time.sleep(0.1)
        api.post("/api/v1/serve/bench/undeploy/local")
        up.gone("bench")

        config_file = work / "serve.json"
        config_file.write_text(
            json.dumps(
                {
                    "proxy_location": "HeadOnly",
                    "http_options": {"host": "127.0.0.1", "port": up.ray_ports["serve_port"]},
                    "applications": [app],
                }
            )
        )
        started = time.perf_counter()
        up.serve_deploy(config_file)
        theirs = first_prediction(url, started)
        out(
            f"POST deploy → first prediction: {ours:.2f}s; Ray's `serve deploy`: {theirs:.2f}s; "
            f"ratio {ours / theirs:.2f}\n"
        )


async def kserve_pass(workloads: int, data: Path) -> None:
    """Part 2: seed the workloads, then time reconciler passes against the emulator."""
    import kmock
    from tests.kube import emulator
    from tortoise import Tortoise

    from galapagos_core.catalog.clusters import ClusterService, kubeconfig_context
    from galapagos_core.deployments.workload_spec import AppOptions, workload_spec
    from galapagos_core.kernel import database
    from galapagos_core.kernel.config import load_settings
    from galapagos_core.kernel.kubernetes import KubeClients
    from galapagos_core.services import Services
    from galapagos_core.workloads.backends.kserve import KServeBackend
    from galapagos_core.workloads.reconciler import Reconciler
    from galapagos_model.artifacts import Artifact
    from galapagos_model.catalog import Cluster, Environment, Serve
    from galapagos_model.deployments import Deployment, Workload
    from galapagos_model.enums import ArtifactKind, EnvironmentBackend, ServeType
    from galapagos_model.identity import Project
    from galapagos_model.queries.deployments import add_deployments

    settings = load_settings(data_dir=data, log_level="WARNING")
    await database.migrate(settings)
    await database.connect(settings)
    services = Services.build(settings)
    async with kmock.KubernetesEmulator() as fake, kmock.Server(fake):
        emulator.prepare(fake, "serving.kserve.io/v1beta1/inferenceservices")
        kubeconfig = json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "k",
                "clusters": [{"name": "k", "cluster": {"server": str(fake.url)}}],
                "users": [{"name": "k", "user": {}}],
                "contexts": [{"name": "k", "context": {"cluster": "k", "user": "k"}}],
            }
        )
        cluster = await Cluster.create(
            name="bench",
            api_server_url=str(fake.url),
            kubeconfig_encrypted=services.secrets.seal(kubeconfig, kubeconfig_context("bench")),
        )
        env = await Environment.create(
            name="kserve",
            backend=EnvironmentBackend.KSERVE,
            cluster=cluster,
            env_configs={"namespace": "serving"},
        )
        project = await Project.create(name="bench")
        serves = [
            Serve(name=f"m{i:04d}", type=ServeType.API, project=project) for i in range(workloads)
        ]
        await Serve.bulk_create(serves, batch_size=500)
        serves = await Serve.all().order_by("name").select_related("project")
        await Artifact.bulk_create(
            [
                Artifact(
                    serve=s,
                    version="v1",
                    kind=ArtifactKind.MODEL,
                    model_uri=f"s3://models/{s.name}.joblib",
                    model_format="sklearn",
                )
                for s in serves
            ],
            batch_size=500,
        )
        artifacts = {a.serve_id: a for a in await Artifact.all()}
        deployments = [
            Deployment(serve=s, environment=env, artifact=artifacts[s.id]) for s in serves
        ]
        await add_deployments(deployments)
        by_serve = {d.serve_id: d for d in await Deployment.all()}
        rows = []
        for s in serves:
            d = by_serve[s.id]
            spec = workload_spec(
                s, env, artifacts[s.id], _config(s, env), d.id, {}, AppOptions()
            ).model_copy(update={"project": "bench"})
            rows.append(
                Workload(
                    environment=env,
                    serve=s,
                    deployment=d,
                    backend=env.backend,
                    name=spec.name,
                    spec=spec.model_dump(mode="json"),
                    spec_hash=spec.digest(),
                    labels=spec.labels(),
                )
            )
        await Workload.bulk_create(rows, batch_size=500)

        backend = KServeBackend(KubeClients(ClusterService(services.secrets).kubeconfig))

        async def backend_for(_: Any) -> KServeBackend:
            return backend

        reconciler = Reconciler(backend_for, services.env_secrets.open_spec, settings.reconcile)
        passes = (
            "first pass (creates every InferenceService)",
            "pass that sees them Ready (activates 2,000 deployments)",
            "steady-state pass",
        )
        for label in passes:
            if label.startswith("pass that"):
                for key, stored in fake.objects.items():
                    stored.patch(
                        {
                            "status": {
                                "url": f"http://{key[2]}.serving.example.com",
                                "conditions": [{"type": "Ready", "status": "True"}],
                            }
                        }
                    )
            before = len(fake)
            started = time.perf_counter()
            await reconciler.run_once()
            elapsed = time.perf_counter() - started
            requests = list(fake)[before:]
            lists = sum(1 for r in requests if r.action == kmock.action.LIST)
            fetches = sum(1 for r in requests if r.action == kmock.action.FETCH)
            creates = sum(1 for r in requests if r.action == kmock.action.CREATE)
            out(
                f"{label}: {workloads} workloads in {elapsed:.2f}s — {lists} list call(s), "
                f"{fetches} GET(s), {creates} create(s)\n"
            )
        await backend.clients.close()
    await Tortoise.close_connections()


def _config(serve: Any, environment: Any) -> Any:
    from galapagos_model.enums import NodeCapacityType, ServingFramework
    from galapagos_model.infra import ApiServeInfraConfig

    return ApiServeInfraConfig(
        serve=serve,
        environment=environment,
        backend_type=ServingFramework.FASTAPI,
        cores=1,
        memory=2,
        node_capacity_type=NodeCapacityType.SPOT,
        min_replicas=1,
        max_replicas=2,
    )


ARGS = argparse.Namespace()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.parse_args(namespace=ARGS)
    work = Path(tempfile.mkdtemp(prefix="galapagos-bench-"))
    try:
        if not ARGS.skip_ray:
            ray_deploy_and_serve(work)
        asyncio.run(kserve_pass(ARGS.workloads, work / "kserve"))
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
