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
    process, url, token = _start_up(tmp_path / "data")
    try:
        assert token is not None
        script = _walkthrough().replace("http://127.0.0.1:8000", url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "GALAPAGOS_TOKEN": token},
            cwd=tmp_path,
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
    finally:
        _stop(process)
