"""Traffic benchmark, in one run:

1. the routing decision alone (galapagos_runtime.routing) over 100 variants with header-match
   rules and a sticky header, per call (goal: p99 <= 20 us), beside a bare random draw on the
   same weights (the anchor: the least any weighted choice costs);
2. on one local Ray (started by `galapagos up`): the same trivial model served by two serves,
   one called directly through Ray's proxy (the anchor), one through its traffic router
   (goal: <= 1 ms added at p50), and the routed one again with a shadow variant getting a
   copy of every request (shadow's cost to the primary's p50). wrk at concurrency 1, so the
   figures are latency, not queueing; the median of ``--rounds`` interleaved rounds.

    .venv/bin/python bench/traffic.py [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import ensure_wrk, load
from bench.local import Platform, git_repo, platform
from galapagos_runtime.routing import RoutingTable

PLAIN = """class Model:
    def predict(self, instances):
        return [len(x) for x in instances]
"""
BODY = json.dumps({"instances": [[1, 2, 3]]})
out = sys.stdout.write


def table(variants: int = 100) -> RoutingTable:
    """``variants`` variants: the first tenth with two-header matches, weights summing to 100."""
    entries = [
        {
            "name": f"v{i}",
            "app": f"app-{i}",
            "weight": 1,
            "header_match": {"x-tenant": f"t{i}", "x-beta": "yes"} if i < variants // 10 else {},
        }
        for i in range(variants)
    ]
    entries[0]["name"] = "stable"
    return RoutingTable.from_config(
        {"default": "stable", "sticky": {"header": "x-user"}, "variants": entries}
    )


def per_call(fn: Callable[[int], object], calls: int) -> tuple[float, float]:
    """p50 and p99 of one call, in microseconds."""
    times = []
    for i in range(calls):
        started = time.perf_counter_ns()
        fn(i)
        times.append(time.perf_counter_ns() - started)
    times.sort()
    return times[len(times) // 2] / 1000, times[int(len(times) * 0.99)] / 1000


def decision(calls: int) -> None:
    routes = table()
    bounds = [i + 1 for i in range(100)]
    plain = {"content-type": "application/json"}
    sticky = [{"x-user": f"user-{i}", **plain} for i in range(1000)]
    missing = {"x-tenant": "nobody", "x-beta": "yes", **plain}
    cases: dict[str, Callable[[int], object]] = {
        "anchor: random draw + bisect": lambda i: bisect.bisect_right(
            bounds, random.random() * 100
        ),
        "choose, no key (random)": lambda i: routes.choose(plain),
        "choose, sticky header": lambda i: routes.choose(sticky[i % 1000]),
        "choose, matches checked, none hit": lambda i: routes.choose(missing),
        "copies (shadows)": lambda i: routes.copies(),
    }
    out(f"\nRouting decision, 100 variants (10 with header matches), {calls} calls each:\n")
    out(f"{'':38}{'p50 us':>9}{'p99 us':>9}\n")
    for label, fn in cases.items():
        p50, p99 = per_call(fn, calls)
        out(f"{label:38}{p50:9.2f}{p99:9.2f}\n")
    out(f"{'goal':38}{'':>9}{20:9.2f}\n")


def deploy(up: Platform, serve: str, repo: Path) -> str:
    up.register(serve)
    up.build(serve, "v1", repo, "model:Model")
    answer = up.api.post(
        f"/api/v1/serve/{serve}/deploy?wait=true&timeout=300",
        json={"env": "local", "artifact_version": "v1"},
    ).json()["data"]
    if answer["status"] != "ACTIVE":
        raise SystemExit(f"{serve}: {answer}")
    return str(answer["service_url"])


def traffic(up: Platform, serve: str) -> dict[str, object]:
    return up.api.get(f"/api/v1/serve/{serve}/traffic/local").json()["data"]  # type: ignore[no-any-return]


def routed(up: Platform, serve: str) -> None:
    """``serve`` behind its router, with a shadow of the same version at weight 0."""
    up.api.post(
        f"/api/v1/serve/{serve}/traffic/local",
        json={
            "strategy": "shadow",
            "variants": [
                {"variant_name": "stable"},
                {"variant_name": "shadow", "artifact_version": "v1", "weight": 0},
            ],
        },
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = traffic(up, serve)
        router = state["router"] or {}
        if router.get("url") and all(v["status"] == "active" for v in state["variants"]):  # type: ignore[attr-defined]
            return
        time.sleep(0.5)
    raise SystemExit(f"{serve}'s router never took its route: {traffic(up, serve)}")


def shadow_weight(up: Platform, serve: str, weight: int) -> None:
    up.api.patch(f"/api/v1/serve/{serve}/traffic/local/variants/shadow", json={"weight": weight})
    time.sleep(3)  # the next reconcile pass reconfigures the routers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per way and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200_000, help="routing decisions per case")
    args = parser.parse_args()
    decision(args.calls)

    work = Path(tempfile.mkdtemp(prefix="galapagos-bench-"))
    repo = git_repo(work / "repo", {"model.py": PLAIN})
    ways = ("anchor: direct, Ray's proxy", "through the router", "router + 100% shadow")
    figures: dict[str, list[tuple[float, float, float, int]]] = {w: [] for w in ways}
    try:
        with platform(work / "up") as up:
            direct = deploy(up, "direct", repo)
            url = deploy(up, "routed", repo)
            routed(up, "routed")
            wrk = ensure_wrk()
            for _ in range(args.rounds):
                figures[ways[0]].append(load(wrk, direct, args.duration, body=BODY, connections=1))
                shadow_weight(up, "routed", 0)
                figures[ways[1]].append(load(wrk, url, args.duration, body=BODY, connections=1))
                shadow_weight(up, "routed", 100)
                figures[ways[2]].append(load(wrk, url, args.duration, body=BODY, connections=1))
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    out(
        f"\nOne request at a time, {args.duration}s, {args.rounds} interleaved rounds (median), "
        "one replica of 0.5 CPU per app, two router replicas:\n"
        f"{'':30}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'p50 added':>11}\n"
    )
    anchor = statistics.median(r[1] for r in figures[ways[0]])
    for label, runs in figures.items():
        p50 = statistics.median(r[1] for r in runs)
        out(
            f"{label:30}{statistics.median(r[0] for r in runs):8.0f}{p50:9.2f}"
            f"{statistics.median(r[2] for r in runs):9.2f}{sum(r[3] for r in runs):8d}"
            f"{p50 - anchor:11.2f}\n"
        )
    out(f"{'goal (through the router)':30}{'':8}{'':9}{'':9}{'':8}{1:11.2f}\n")


if __name__ == "__main__":
    main()
