"""Serving benchmark: the same trivial model, four ways, on one local Ray (started by
`galapagos up`), each one replica of half a CPU, loaded in turn with wrk at concurrency 16:

(a) a minimal hand-written Ray Serve deployment, deployed with Ray's own ``serve deploy``
    (the anchor);
(b) the same code deployed by Galápagos (a Serve application, run as written);
(c) Galápagos's generic model server around a plain class with ``predict``;
(d) a FastAPI app deployed by Galápagos.

Prints requests/s, p50 and p99 per way and the ratios to (a) (goal: >= 0.9 for (b) and (c)),
as the median of ``--rounds`` interleaved rounds.

    .venv/bin/python bench/serving.py [--duration 10] [--rounds 3]

Needs Debian's wrk (installed when missing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import ensure_wrk, load
from bench.cpu import GROUPS, sample, spent
from bench.local import Platform, git_repo, platform

HANDWRITTEN = """from ray import serve
from starlette.requests import Request


@serve.deployment
class Echo:
    async def __call__(self, request: Request) -> dict:
        body = await request.json()
        return {"predictions": [len(x) for x in body["instances"]]}


app = Echo.bind()
"""
PLAIN = """class Model:
    def predict(self, instances):
        return [len(x) for x in instances]
"""
FASTAPI = """from fastapi import FastAPI

app = FastAPI()


@app.post("/predict")
async def predict(body: dict) -> dict:
    return {"predictions": [len(x) for x in body["instances"]]}
"""
BODY = json.dumps({"instances": [[1, 2, 3]]})
EXPECTED = {"predictions": [3]}
out = sys.stdout.write


def answering(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(
                url, content=BODY, headers={"Content-Type": "application/json"}, timeout=5
            )
            if answer.status_code == 200:
                if answer.json() != EXPECTED:
                    raise SystemExit(f"{url} answered {answer.text}")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} never answered")


WAYS = {  # serve, import path, its ingress deployment, the route to load
    "(b) Serve app by Galápagos": ("echo", "echo:app", "Echo", ""),
    "(c) generic model server": ("model", "model:Model", "model", ""),
    "(d) FastAPI app by Galápagos": ("api", "api:app", "app", "/predict"),
}
ANCHOR = "(a) hand-written, `serve deploy`"
Figures = tuple[float, float, float, int]  # req/s, p50 ms, p99 ms, errors


def deploy_ways(up: Platform, repo: Path, options: dict[str, int]) -> dict[str, str]:
    """(b), (c) and (d), built and deployed by the platform; their URLs."""
    urls = {}
    for label, (serve, import_path, ingress, path) in WAYS.items():
        up.register(serve)
        up.build(serve, "v1", repo, import_path)
        deployed = up.api.post(
            f"/api/v1/serve/{serve}/deploy?wait=true&timeout=300",
            json={
                "env": "local",
                "artifact_version": "v1",
                "api_serve_deployment_config": {"deployments": {ingress: options}},
            },
        ).json()
        if deployed["data"]["status"] != "ACTIVE":
            raise SystemExit(f"{serve}: {deployed}")
        urls[label] = deployed["data"]["service_url"] + path
    return urls


def deploy_handwritten(up: Platform, config: Path, options: dict[str, int]) -> str:
    """(a): Ray's own ``serve deploy`` of (b)'s package, the platform's applications kept in
    the config (as anyone sharing a Ray cluster does); its URL."""
    applications = [app["deployed_app_config"] for app in up.ray_applications().values()]
    [package] = [
        app["runtime_env"]["working_dir"]  # type: ignore[index]
        for app in applications
        if app["name"] == "echo"
    ]
    echo = {"name": "Echo", "num_replicas": 1, "ray_actor_options": {"num_cpus": 0.5}}
    applications.append(
        {
            "name": "handwritten",
            "route_prefix": "/handwritten",
            "import_path": "echo:app",
            "runtime_env": {"working_dir": package},
            "deployments": [{**echo, **options}],
        }
    )
    port = up.ray_ports["serve_port"]
    http_options = {"host": "127.0.0.1", "port": port}
    serve_config = {"proxy_location": "HeadOnly", "http_options": http_options}
    config.write_text(json.dumps({**serve_config, "applications": applications}))
    up.serve_deploy(config)
    return f"http://127.0.0.1:{port}/handwritten"


def measure(
    urls: dict[str, str], rounds: int, duration: int
) -> tuple[dict[str, list[Figures]], dict[str, dict[str, float]], dict[str, list[float]]]:
    """Each URL loaded in turn, ``rounds`` times: its figures, CPU seconds per process group,
    and how busy the machine was."""
    wrk = ensure_wrk()
    figures: dict[str, list[Figures]] = {k: [] for k in urls}
    cpu: dict[str, dict[str, float]] = {k: {} for k in urls}
    busy: dict[str, list[float]] = {k: [] for k in urls}
    for _ in range(rounds):
        for label, url in urls.items():
            before = sample()
            figures[label].append(load(wrk, url, duration, body=BODY))
            groups, fraction = spent(before, sample())
            for group, seconds in groups.items():
                cpu[label][group] = cpu[label].get(group, 0.0) + seconds
            busy[label].append(fraction)
    return figures, cpu, busy


def report(
    figures: dict[str, list[Figures]],
    cpu: dict[str, dict[str, float]],
    busy: dict[str, list[float]],
    rounds: int,
    duration: int,
) -> None:
    out(
        f"\nwrk, concurrency 16, {duration}s, {rounds} interleaved rounds (median), "
        "one replica of 0.5 CPU each:\n"
        f"{'':36}{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs (a)':>7}\n"
    )
    anchor = statistics.median(f[0] for f in figures[ANCHOR])
    for label, runs in figures.items():
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        errors = sum(r[3] for r in runs)
        out(f"{label:36}{rps:8.0f} {p50:8.1f} {p99:8.1f} {errors:7d} {rps / anchor:7.2f}\n")

    shown = [*dict.fromkeys(group for group, _ in GROUPS), "other"]
    out("\nCPU ms per request, by process (and how busy the 2 CPUs were):\n")
    out(f"{'':36}" + "".join(f"{g[:12]:>13}" for g in shown) + f"{'busy':>7}\n")
    for label, runs in figures.items():
        requests = sum(r[0] for r in runs) * duration
        row = "".join(f"{cpu[label].get(g, 0.0) * 1000 / requests:13.2f}" for g in shown)
        out(f"{label:36}{row}{statistics.median(busy[label]):7.0%}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-ongoing",
        type=int,
        help="Serve's max_ongoing_requests for every way's deployment (Ray's default if unset)",
    )
    args = parser.parse_args()
    options = {} if args.max_ongoing is None else {"max_ongoing_requests": args.max_ongoing}
    work = Path(tempfile.mkdtemp(prefix="galapagos-bench-"))
    repo = git_repo(work / "repo", {"echo.py": HANDWRITTEN, "model.py": PLAIN, "api.py": FASTAPI})
    try:
        with platform(work / "up") as up:
            ways = deploy_ways(up, repo, options)
            urls = {ANCHOR: deploy_handwritten(up, work / "serve.json", options), **ways}
            for url in urls.values():
                answering(url)
            figures, cpu, busy = measure(urls, args.rounds, args.duration)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    report(figures, cpu, busy, args.rounds, args.duration)


if __name__ == "__main__":
    main()
