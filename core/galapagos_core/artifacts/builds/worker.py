"""The build worker: claims due jobs with row leases and advances them with their builder.

Any number of workers may run against one database. A job is held through a lease
(``lease_owner`` + ``lease_until``) that the holder renews while it works; a worker that dies
simply stops renewing, and another one picks the job up once the lease has run out. The
artifact is created and the job marked SUCCESSFUL in one transaction, under a row lock, and
only by the current lease holder: a build finishes exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from galapagos_core.artifacts.builds.base import (
    Builder,
    BuildFailure,
    Built,
    InProgress,
    TransientBuildError,
)
from galapagos_core.artifacts.creation import record_artifact
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.config import BuildSettings
from galapagos_core.kernel.errors import Conflict
from galapagos_core.kernel.loops import Wakeup, every, owner_id
from galapagos_model.artifacts import ArtifactBuilderJob
from galapagos_model.enums import BuilderKind, BuildStatus
from galapagos_model.queries import builds as build_queries

log = logging.getLogger("galapagos.builds")
WORKER = Actor.system("worker")
_MAX_LOG_CHARS = 64 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


async def _stop(*tasks: asyncio.Task[object]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _append(logs: str | None, lines: list[str]) -> str:
    stamp = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (logs or "") + "".join(f"{stamp} {line}\n" for line in lines)
    return text[-_MAX_LOG_CHARS:]


class BuildWorker:
    def __init__(
        self,
        builders: Mapping[BuilderKind, Builder],
        settings: BuildSettings,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.builders = builders
        self.settings = settings
        self.wakeup = wakeup or Wakeup()
        self.owner = owner_id()
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and advance jobs until ``stop`` is set (at once when rung)."""
        log.info("build worker %s started", self.owner)
        for builder in self.builders.values():
            await builder.recover()
        try:
            await every(
                self.settings.poll_interval_seconds,
                stop,
                self._claim_free_slots,
                name="build worker",
                wakeup=self.wakeup,
            )
        finally:
            for task in self._running:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _claim_free_slots(self) -> None:
        free = self.settings.concurrency - len(self._running)
        if free <= 0:
            return
        await self.reap_cancelled()
        for job_id in await self._claim(free):
            task = asyncio.create_task(self._process(job_id))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def run_once(self) -> int:
        """Claim what is due now and advance it; the number of jobs advanced (for tests)."""
        await self.reap_cancelled()
        claimed = await self._claim(self.settings.concurrency)
        await asyncio.gather(*(self._process(job_id) for job_id in claimed))
        return len(claimed)

    async def reap_cancelled(self) -> None:
        """Stop builds that were cancelled while their builder had work under way."""
        for job in await build_queries.needing_cleanup(self.settings.concurrency):
            builder = self.builders.get(job.builder)
            try:
                if builder is not None:
                    await builder.cancel(job)
            except Exception:
                log.exception("build job %s: could not stop the cancelled build", job.id)
                continue
            await build_queries.cleaned_up(job.id)

    async def _claim(self, limit: int) -> list[uuid.UUID]:
        now = _now()
        async with in_transaction():
            candidates = await build_queries.due_job_ids(now, limit)
            return [
                job_id
                for job_id in candidates
                if await build_queries.claim(job_id, self.owner, now, self.lease)
            ]

    async def _process(self, job_id: uuid.UUID) -> None:
        job = await build_queries.held_job(job_id, self.owner)
        if job is None:
            return
        try:
            await self._advance(job)
        except Exception:
            log.exception("build job %s: unexpected error", job.id)
            await self._transient(job, "unexpected error in the worker (see its logs)")

    async def _advance(self, job: ArtifactBuilderJob) -> None:
        builder = self.builders.get(job.builder)
        if builder is None:
            await self._end(
                job, BuildStatus.FAILED, f"no {job.builder.value} builder is configured"
            )
            return
        if job.attempts > self.settings.max_attempts:
            await self._end(
                job,
                BuildStatus.FAILED,
                f"the build was interrupted {job.attempts - 1} times (worker lost); giving up",
            )
            return
        started = job.started_at or _now()
        remaining = self.settings.timeout_seconds - (_now() - started).total_seconds()
        if remaining <= 0:
            await self._time_out(job, builder)
            return
        step = asyncio.create_task(builder.advance(job))
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            done, _ = await asyncio.wait(
                {step, heartbeat}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:  # the worker is shutting down: hand the job back
            await _stop(step, heartbeat)
            await build_queries.release(job.id, self.owner)
            raise
        if step not in done:
            await _stop(step, heartbeat)
            if heartbeat in done:  # cancelled through the API, or the lease was lost
                if heartbeat.result() == BuildStatus.CANCELLED:
                    await builder.cancel(job)
                return
            await self._time_out(job, builder)
            return
        await _stop(heartbeat)
        try:
            outcome = step.result()
        except BuildFailure as exc:
            await self._end(job, BuildStatus.FAILED, str(exc))
            return
        except TransientBuildError as exc:
            await self._transient(job, str(exc))
            return
        if isinstance(outcome, InProgress):
            await self._in_progress(job, outcome)
        else:
            await self._succeed(job, outcome)

    async def _heartbeat(self, job: ArtifactBuilderJob) -> BuildStatus | None:
        """Renew the lease until the job stops being ours to run; return why it stopped."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            status = await build_queries.renew(job.id, self.owner, _now() + self.lease)
            if status != BuildStatus.RUNNING:
                log.info("build job %s: %s, stopping", job.id, status or "lease lost")
                return status

    async def _in_progress(self, job: ArtifactBuilderJob, outcome: InProgress) -> None:
        poll_after = outcome.poll_after or self.settings.poll_interval_seconds
        changes: dict[str, object] = {
            "next_attempt_at": _now() + timedelta(seconds=poll_after),
            "transient_failures": 0,
        }
        if outcome.task_id is not None:
            changes["task_id"] = outcome.task_id
        if outcome.external_logs_url is not None:
            changes["external_logs_url"] = outcome.external_logs_url
        if outcome.logs:
            changes["logs"] = _append(job.logs, outcome.logs)
        await build_queries.release(job.id, self.owner, **changes)

    async def _succeed(self, job: ArtifactBuilderJob, built: Built) -> None:
        async with in_transaction():
            held = await build_queries.locked_if_held(job.id, self.owner)
            if held is None:
                log.info("build job %s: finished elsewhere or cancelled; result dropped", job.id)
                return
            await held.serve.fetch_related("project")
            try:
                await record_artifact(
                    WORKER,
                    held.serve,
                    held.version,
                    action="artifact.build",
                    audited={"job_id": str(held.id), "builder": held.builder.value},
                    created_by_id=held.created_by_id,
                    kind=built.kind,
                    image_url=built.image_url,
                    package_sha256=built.package_sha256,
                    package_size=built.package_size,
                    import_path=built.import_path,
                    requirements=built.requirements,
                    health_path=built.health_path,
                    source=held.source,
                    branch=held.branch,
                    file_path=held.file_path,
                    builder_job_id=held.id,
                )
            except Conflict:
                await build_queries.finish(
                    held.id,
                    self.owner,
                    BuildStatus.FAILED,
                    finished_at=_now(),
                    error=f"version '{held.version}' was registered by another request meanwhile",
                )
                return
            await build_queries.finish(
                held.id,
                self.owner,
                BuildStatus.SUCCESSFUL,
                finished_at=_now(),
                error=None,
                logs=_append(held.logs, built.logs),
            )
        log.info("build job %s: artifact %s created", job.id, job.version)

    async def _transient(self, job: ArtifactBuilderJob, error: str) -> None:
        failures = job.transient_failures + 1
        if failures > self.settings.max_transient_failures:
            await self._end(job, BuildStatus.FAILED, f"giving up after {failures} errors: {error}")
            return
        delay = min(self.settings.poll_interval_seconds * 2**failures, 300.0)
        await build_queries.release(
            job.id,
            self.owner,
            transient_failures=failures,
            error=error,
            next_attempt_at=_now() + timedelta(seconds=delay),
            logs=_append(job.logs, [f"transient error, retrying in {delay:.0f}s: {error}"]),
        )

    async def _time_out(self, job: ArtifactBuilderJob, builder: Builder) -> None:
        with contextlib.suppress(Exception):
            await builder.cancel(job)
        minutes = self.settings.timeout_seconds / 60
        await self._end(
            job, BuildStatus.TIMED_OUT, f"the build took longer than {minutes:g} minutes"
        )

    async def _end(self, job: ArtifactBuilderJob, status: BuildStatus, error: str) -> None:
        log.info("build job %s: %s: %s", job.id, status.value, error)
        await build_queries.finish(
            job.id,
            self.owner,
            status,
            error=error,
            finished_at=_now(),
            logs=_append(job.logs, [f"{status.value}: {error}"]),
        )
