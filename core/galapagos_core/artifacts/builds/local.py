"""The local builder: git repository or folder → reproducible zip in the package store."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from urllib.parse import urlsplit

from galapagos_core.artifacts.builds import packaging
from galapagos_core.artifacts.builds.base import BuildFailure, Built
from galapagos_core.artifacts.builds.git import (
    Git,
    GitCredentials,
    GitError,
    Remote,
    guarded_remote,
    local_remote,
    redact_url,
)
from galapagos_core.artifacts.builds.inspection import (
    check_import_path,
    declared_health_path,
    requirements,
)
from galapagos_core.artifacts.builds.store import PackageStore
from galapagos_core.kernel.boundaries import LocalPaths, OutboundGuard
from galapagos_core.kernel.errors import PermissionDenied
from galapagos_core.kernel.processes import die_with_parent, owned_folder, remove_abandoned
from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import ArtifactKind, BuilderKind, SourceKind

log = logging.getLogger("galapagos.builds")


class LocalBuilder:
    """Builds ``package`` artifacts in-process; the whole build is one step."""

    kind = BuilderKind.LOCAL

    def __init__(
        self,
        store: PackageStore,
        *,
        work_root: Path,
        credentials: GitCredentials,
        git_timeout: float,
        max_source_bytes: int,
        default_import_path: str,
        local_paths: LocalPaths,
        git_hosts: OutboundGuard,
    ) -> None:
        self.store = store
        self.local_paths = local_paths
        self.git_hosts = git_hosts
        self.work_root = work_root
        self.credentials = credentials
        self.git_timeout = git_timeout
        self.max_source_bytes = max_source_bytes
        self.default_import_path = default_import_path

    async def advance(self, job: ArtifactBuilderJob) -> Built:
        async with owned_folder(self.work_root, f"build-{job.id}-") as workdir:
            return await self._build(job, workdir)

    async def cancel(self, job: ArtifactBuilderJob) -> None:
        """Nothing outside this process: the worker cancels the running task itself."""

    async def recover(self) -> None:
        """Remove build folders whose worker died mid-build."""
        for folder in await asyncio.to_thread(remove_abandoned, self.work_root):
            log.info("removed the abandoned build folder %s", folder)

    async def _remote(self, url: str) -> Remote:
        """The remote to clone, after the local-source rules or the outbound guard."""
        if urlsplit(url).scheme == "file":
            return local_remote(f"file://{self.local_paths.check(urlsplit(url).path)}")
        return await guarded_remote(url, self.git_hosts, self.git_timeout)

    async def _build(self, job: ArtifactBuilderJob, workdir: Path) -> Built:
        git = Git(workdir, self.credentials, self.git_timeout)
        logs: list[str] = []
        if job.source_kind == SourceKind.GIT:
            checkout = workdir / "src"
            try:
                commit = await git.checkout(await self._remote(job.source), job.branch, checkout)
            except GitError as exc:
                raise BuildFailure(str(exc)) from None
            except PermissionDenied as exc:  # refused by the local-source rules or the guard
                raise BuildFailure(exc.message) from None
            logs.append(f"cloned {redact_url(job.source)} at {job.branch or 'HEAD'} ({commit})")
        else:
            try:  # checked again: a symlink may have changed since the job was registered
                checkout = self.local_paths.check(job.source)
            except PermissionDenied as exc:
                raise BuildFailure(exc.message) from None
            if not checkout.is_dir():
                raise BuildFailure(f"source folder {job.source} does not exist")
            logs.append(f"reading folder {job.source}")
        root = _subfolder(checkout, job.file_path)
        import_path = job.import_path or self.default_import_path
        if job.import_path is not None:  # named by the user: it must be there
            module = check_import_path(root, import_path)
            logs.append(f"{import_path}: {module} defines it")
        needs = requirements(root)
        if needs:
            logs.append(f"requirements: {', '.join(needs)}")
        health_path = await asyncio.to_thread(declared_health_path, root)
        if health_path:
            logs.append(f"health route: {health_path}")
        names = await git.tracked_files(root)
        package, peak_mib = await self._package(root, names, workdir / "package.zip", job.file_path)
        await self.store.put(package.path, package.sha256)
        logs.append(
            f"packaged {package.files} files, {package.size} bytes, sha256 {package.sha256} "
            f"(packaging peak RSS {peak_mib} MiB)"
        )
        return Built(
            kind=ArtifactKind.PACKAGE,
            package_sha256=package.sha256,
            package_size=package.size,
            import_path=import_path,
            requirements=needs,
            health_path=health_path,
            logs=logs,
        )

    async def _package(
        self, root: Path, names: list[str] | None, target: Path, file_path: str | None
    ) -> tuple[packaging.Package, int]:
        """Zip in a niced child process: compression never competes with the API's loop."""
        process = await asyncio.create_subprocess_exec(
            "nice",
            "-n",
            "10",
            sys.executable,
            "-m",
            packaging.__name__,
            str(root),
            str(target),
            str(self.max_source_bytes),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        listing = "\0".join(names).encode() if names is not None else b""
        try:
            stdout, stderr = await process.communicate(listing)
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        message = stderr.decode(errors="replace").strip()
        if process.returncode == 3:
            raise BuildFailure(message)
        if process.returncode == 4:
            raise BuildFailure(f"no files to package under '{file_path or '.'}'")
        if process.returncode != 0:
            last = message.splitlines()[-1] if message else "no output"
            raise BuildFailure(f"packaging failed: {last}")
        result = json.loads(stdout)
        package = packaging.Package(
            path=Path(result["path"]),
            sha256=result["sha256"],
            size=result["size"],
            files=result["files"],
        )
        return package, result["peak_rss_kib"] // 1024


def _subfolder(checkout: Path, file_path: str | None) -> Path:
    if not file_path:
        return checkout
    root = (checkout / file_path).resolve()
    if not root.is_relative_to(checkout.resolve()) or not root.is_dir():
        raise BuildFailure(f"'{file_path}' is not a folder of the source")
    return root
