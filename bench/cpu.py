"""Where CPU time goes while a benchmark runs: CPU seconds per group of processes (from
``/proc``, by command line, which Ray sets to the actor's name) and how busy the machine was."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# (group, a piece of the command line), first match wins.
GROUPS = (
    ("Serve proxy", "ray::ProxyActor"),
    ("replica", "ray::ServeReplica"),
    ("Serve controller", "ray::ServeController"),
    ("control plane", "galapagos_app.cli"),
    ("load generator", "wrk"),  # exited children of this process, from getrusage
    ("Ray's own processes", "ray"),
    ("Ray's own processes", "gcs_server"),
)


@dataclass(frozen=True)
class Sample:
    processes: dict[int, tuple[str, float]]  # pid → (group, CPU seconds)
    busy: float  # the machine's busy CPU seconds
    total: float  # its CPU seconds, busy or idle


def _group(command: str) -> str:
    return next((group for group, piece in GROUPS if piece in command), "other")


def sample() -> Sample:
    processes: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        utime, stime = int(fields[11]), int(fields[12])
        processes[int(entry.name)] = (_group(command), (utime + stime) / TICK)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    processes[-1] = ("load generator", children.ru_utime + children.ru_stime)
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return Sample(processes, (sum(ticks) - idle) / TICK, sum(ticks) / TICK)


def spent(before: Sample, after: Sample) -> tuple[dict[str, float], float]:
    """CPU seconds per group between two samples, and the machine's busy fraction."""
    groups: dict[str, float] = {}
    for pid, (group, seconds) in after.processes.items():
        earlier = before.processes.get(pid)
        used = seconds - (earlier[1] if earlier and earlier[0] == group else 0.0)
        groups[group] = groups.get(group, 0.0) + used
    busy = (after.busy - before.busy) / max(after.total - before.total, 1e-9)
    return groups, busy
