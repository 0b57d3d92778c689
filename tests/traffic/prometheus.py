"""A real Prometheus for the tests (Debian's package, run by ``scripts/prometheus.sh``),
scraping one target every second."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "prometheus.sh"


@asynccontextmanager
async def scraping(target: str, home: Path, port: int) -> AsyncIterator[str]:
    """Prometheus on ``port`` scraping ``target`` (host:port, ``/metrics``); its URL."""
    start = [str(SCRIPT), "start", str(home), str(port), target, "1s"]
    await asyncio.to_thread(subprocess.run, start, check=True, timeout=600)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(subprocess.run, [str(SCRIPT), "stop", str(home)], check=True)
