"""What a build learns from a package without running any of it: whether the import path
names something the package defines, what the package needs installed, and whether its code
declares a health route."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from galapagos_core.artifacts.builds.base import BuildFailure

_MAX_REQUIREMENTS = 200
_MAX_SCANNED_FILES = 2000
HEALTH_PATH = "/healthcheck"  # Darwin's template declares it
_HEALTH_ROUTE = re.compile(rb"""["']/healthcheck["']""")
_OPTION = re.compile(r"^-")
_COMMENT = re.compile(r"(^|\s)#.*$")


def check_import_path(root: Path, import_path: str) -> str:
    """The module file ``import_path`` (``module:name``) names under ``root``, once it is
    certain the file parses and binds ``name`` at top level; :class:`BuildFailure` saying
    what is wrong otherwise. A module with ``from … import *`` is taken at its word."""
    module, _, attribute = import_path.partition(":")
    relative = Path(*module.split("."))
    candidates = [relative.with_suffix(".py"), relative / "__init__.py"]
    found = next((c for c in candidates if (root / c).is_file()), None)
    if found is None:
        looked = " or ".join(c.as_posix() for c in candidates)
        raise BuildFailure(
            f"import path '{import_path}': module '{module}' is not in the package "
            f"(no {looked}); set import_path to module:name of your app"
        )
    try:
        tree = ast.parse((root / found).read_bytes(), filename=found.as_posix())
    except SyntaxError as exc:
        raise BuildFailure(
            f"import path '{import_path}': {found.as_posix()} line {exc.lineno}: {exc.msg}"
        ) from None
    name = attribute.split(".")[0]
    bound, star = _top_level_names(tree.body)
    if name not in bound and not star:
        raise BuildFailure(
            f"import path '{import_path}': {found.as_posix()} defines no '{name}' at top level"
        )
    return found.as_posix()


def _top_level_names(body: list[ast.stmt]) -> tuple[set[str], bool]:
    """Names a module body binds (through if/try/with blocks too), and whether it star-imports."""
    names: set[str] = set()
    star = False
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                star = star or alias.name == "*"
                names.add(alias.asname or alias.name.split(".")[0])
        for block in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, block, None)
            nested = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            if isinstance(inner, list) and not isinstance(node, nested):
                if block == "handlers":
                    inner = [s for handler in inner for s in handler.body]
                more, more_star = _top_level_names(inner)
                names |= more
                star = star or more_star
    return names, star


def requirements(root: Path) -> list[str]:
    """What ``root``'s ``requirements.txt`` (or else ``pyproject.toml``'s
    ``[project].dependencies``) asks to install: one requirement a line, options and
    comments left out, ``-r`` files followed inside the package."""
    listed = root / "requirements.txt"
    if listed.is_file():
        found = _requirements_file(root, listed, set())
    elif (root / "pyproject.toml").is_file():
        try:
            project = tomllib.loads((root / "pyproject.toml").read_text()).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            raise BuildFailure(f"pyproject.toml: {exc}") from None
        found = [str(item) for item in project.get("dependencies", [])]
    else:
        return []
    if len(found) > _MAX_REQUIREMENTS:
        raise BuildFailure(f"the package asks for more than {_MAX_REQUIREMENTS} requirements")
    return found


def _requirements_file(root: Path, path: Path, seen: set[Path]) -> list[str]:
    resolved = path.resolve()
    if resolved in seen or not resolved.is_relative_to(root.resolve()):
        return []
    seen.add(resolved)
    found: list[str] = []
    for raw in path.read_text(errors="replace").splitlines():
        line = _COMMENT.sub("", raw).strip()
        if line.startswith(("-r ", "--requirement ")):
            found += _requirements_file(root, path.parent / line.split(None, 1)[1], seen)
        elif line and not _OPTION.match(line):
            found.append(line)
    return found


def declared_health_path(root: Path) -> str | None:
    """``/healthcheck`` when the package's code names that route (Darwin's template does),
    else None: the platform then counts on Ray's own health for it."""
    for count, path in enumerate(root.rglob("*.py")):
        if count >= _MAX_SCANNED_FILES:
            break
        small = path.is_file() and path.stat().st_size < 1024 * 1024
        if small and _HEALTH_ROUTE.search(path.read_bytes()):
            return HEALTH_PATH
    return None
