"""The layer rule holds: galapagos_app → galapagos_core → galapagos_model, never back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers() -> None:
    # In a child process: import-linter sets up logging, which would disable this process's
    # existing loggers (the ORM's query log among them).
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "0 broken" in report
