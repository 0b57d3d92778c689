"""The layer rules hold (galapagos_app → galapagos_core → galapagos_model, and inside core
each capability above the ones it builds on), and core writes models only through queries."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "galapagos_core"
# Model writes; the first ones take keywords only, which tells them from other objects'
# methods of the same name (``backend.delete(environment, names)``).
_KEYWORD_WRITES = {"save", "delete", "create", "get_or_create", "update_or_create"}
_BULK_WRITES = {"bulk_create", "bulk_update"}
_QUERYSETS = {"filter", "all", "exclude", "select_for_update", "get", "first"}


def _lint_imports(config: Path | None = None, path: Path | None = None) -> tuple[int, str]:
    # In a child process: import-linter sets up logging, which would disable this process's
    # existing loggers (the ORM's query log among them).
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    if config is not None:
        command += ["--config", str(config)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(path)} if path else None
    result = subprocess.run(
        command, cwd=path or ROOT, capture_output=True, text=True, check=False, env=env
    )
    return result.returncode, result.stdout + result.stderr


def test_import_layers() -> None:
    code, report = _lint_imports()
    assert code == 0, report
    assert "0 broken" in report


def test_a_capability_importing_one_above_it_is_refused(tmp_path: Path) -> None:
    """The core contract, as configured, fed a kernel module that imports deployments."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [core] = [c for c in contracts["contracts"] if c["name"].startswith("core capabilities")]
    package = tmp_path / "galapagos_core"
    for layer in core["layers"]:
        for name in layer.split("|"):
            module = package.joinpath(*name.strip().split(".")[1:])
            module.mkdir(parents=True, exist_ok=True)
            (module / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "kernel" / "errors.py").write_text("import galapagos_core.deployments\n")
    layers = "".join(f'    "{layer}",\n' for layer in core["layers"])
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "galapagos_core"\n\n'
        '[[tool.importlinter.contracts]]\nname = "core"\ntype = "layers"\n'
        f"layers = [\n{layers}]\n"
    )
    code, report = _lint_imports(config, tmp_path)
    assert code != 0, report
    assert "galapagos_core.kernel is not allowed to import galapagos_core.deployments" in report


def model_writes(source: str) -> list[int]:
    """Lines of ``source`` that write models directly: ``x.save()``, ``Model.create()``,
    ``Model.filter(...).update(...)`` and the like."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, receiver = node.func.attr, node.func.value
        chained = (
            isinstance(receiver, ast.Call)
            and isinstance(receiver.func, ast.Attribute)
            and receiver.func.attr in _QUERYSETS
        )
        if (
            (name in _KEYWORD_WRITES and not node.args)
            or name in _BULK_WRITES
            or (name == "update" and chained)
        ):
            found.append(node.lineno)
    return found


def test_the_write_checker_finds_writes() -> None:
    bad = (
        "async def f(w, W):\n"
        "    await w.save()\n"
        "    await W.create(a=1)\n"
        "    await W.filter(id=1).update(a=2)\n"
        "    await w.delete()\n"
        "    await W.bulk_create(rows)\n"
        "    {}.update(a=1)\n"  # a dict: fine
        "    await backend.delete(environment, names)\n"  # not a model: fine
    )
    assert model_writes(bad) == [2, 3, 4, 5, 6]


def test_core_writes_models_only_through_queries() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in CORE.rglob("*.py")
        if (lines := model_writes(path.read_text()))
    }
    assert not offenders, f"write through galapagos_model.queries instead: {offenders}"
