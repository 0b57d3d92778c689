"""The README's walkthrough runs as written against `galapagos up`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import _start_up, _stop

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough() -> str:
    text = README.read_text()
    block = re.search(
        r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", text, re.S
    )
    assert block, "README lost its walkthrough block"
    return block.group(1)


@pytest.mark.ray
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_readme_walkthrough(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # The machine has no GPU: the local Ray declares one L4 for the stand-in engine.
    gpu = {"GALAPAGOS_RAY__NUM_GPUS": "1", "GALAPAGOS_RAY__RESOURCES": '{"accelerator_type:L4": 1}'}
    process, url, token = _start_up(data, **gpu)
    try:
        assert token is not None
        script = _walkthrough().replace("http://127.0.0.1:8000", url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "GALAPAGOS_TOKEN": token,
                "GALAPAGOS_DATA_DIR": str(data),  # for `galapagos catalog import`
            },
            cwd=README.parent,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"iris"' in result.stdout
        assert '"SUCCESSFUL"' in result.stdout
        assert "main.py" in result.stdout  # listed by unzip
        assert '{"predictions":[3,7]}' in result.stdout.replace(" ", "")
        assert '{"hello":"ada"}' in result.stdout.replace(" ", "")
        assert '["chat-default"]' in result.stdout  # listed by the LLM router
        assert '{"status":"READY","current_load":3}' in result.stdout  # the GPU instance
        assert "galapagos/standin-tiny (stand-in engine)" in result.stdout
        assert '{"status":"DRAINING"}' in result.stdout
    finally:
        _stop(process)
