"""Build benchmark: package a generated 200 MB / 20,000-file repository, report wall time and
the peak RSS of the processes that built it, then the API's p99 for a job-status request while
10 builds run in the same process (`galapagos up`: API and worker share one event loop).

    .venv/bin/python bench/builds.py [--files 20000] [--file-kb 10] [--duration 10]

Needs Debian's wrk (installed when missing).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import ensure_wrk, load
from bench.local import Platform, commit_all, platform

out = sys.stdout.write


def make_repo(root: Path, files: int, size: int) -> None:
    """``files`` files of ``size`` random bytes in 100 folders, committed."""
    root.mkdir(parents=True)
    for i in range(files):
        folder = root / f"d{i % 100:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(os.urandom(size))
    commit_all(root)


def rss_mib(pid: int, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--file-kb", type=int, default=10)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="galapagos-bench-"))

    out(f"generating {args.files} files x {args.file_kb} KiB…\n")
    started = time.perf_counter()
    make_repo(work / "big", args.files, args.file_kb * 1024)
    make_repo(work / "medium", 2_000, 10 * 1024)
    out(f"  repository ready in {time.perf_counter() - started:.0f}s\n")

    settings = {
        "builds__max_source_mb": "1024",
        "builds__concurrency": "10",
        "builds__poll_interval_seconds": "0.2",
    }
    try:
        with platform(work / "data", **settings) as up:
            measure(up, work, wrk, args.duration)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def measure(up: Platform, work: Path, wrk: str, duration: int) -> None:
    api = up.api
    api.post("/api/v1/serve", json={"name": "bench", "type": "api", "space": "bench"})
    baseline = rss_mib(up.pid, "VmRSS")

    def build(version: str, repo: Path) -> str:
        answer = api.post(
            "/api/v1/artifact",
            json={
                "serve_name": "bench",
                "version": version,
                "github_repo_url": f"file://{repo}",
            },
        )
        answer.raise_for_status()
        return str(answer.json()["data"]["job_id"])

    def wait(job_id: str) -> dict[str, object]:
        while True:
            data = api.get(f"/api/v1/artifact_builder_job/{job_id}/status").json()["data"]
            if data["status"] not in ("PENDING", "RUNNING"):
                return dict(data)
            time.sleep(0.2)

    started = time.perf_counter()
    status = wait(build("big", work / "big"))
    elapsed = time.perf_counter() - started
    artifact = api.get("/api/v1/artifact/bench").json()["data"]["data"][0]
    size_mb, sha = artifact["package_size"] / 1e6, artifact["package_sha256"][:12]
    out(f"\npackage build: {status['status']} in {elapsed:.1f}s, {size_mb:.0f} MB, {sha}…\n")
    logs = api.get(f"/api/v1/artifact_builder_job/{status['job_id']}/logs").text
    packer = re.search(r"packaging peak RSS (\d+) MiB", logs)
    out(f"packaging process peak RSS: {packer.group(1) if packer else '?'} MiB\n")
    peak = rss_mib(up.pid, "VmHWM")
    out(f"API+worker process RSS: {baseline:.0f} MiB before the build, peak {peak:.0f} MiB\n")

    quiet = load(
        wrk,
        f"{up.api.base_url}/api/v1/artifact_builder_job/{build('probe', work / 'medium')}/status",
        3,
        token=up.token,
    )
    jobs = [build(f"m{i}", work / "medium") for i in range(10)]
    time.sleep(0.5)
    busy = load(
        wrk,
        f"{up.api.base_url}/api/v1/artifact_builder_job/{jobs[0]}/status",
        duration,
        token=up.token,
    )
    finished = [wait(job)["status"] for job in jobs]
    out(f"\nGET status, wrk concurrency 16:\n{'':18}{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}\n")
    out(f"{'idle':18}{quiet[0]:8.0f} {quiet[1]:8.2f} {quiet[2]:8.2f}\n")
    out(f"{'10 builds running':18}{busy[0]:8.0f} {busy[1]:8.2f} {busy[2]:8.2f}\n")
    out(f"builds: {', '.join(sorted(set(map(str, finished))))}\n")


if __name__ == "__main__":
    main()
