"""The reconciler: makes each environment's backend match the workloads the database wants,
and moves deployments along as it observes them.

Environments are claimed with row leases, so any number of workers may run. A pass lists
the environment's managed objects once, applies what is missing or different (drift repair
included), deletes managed objects nobody wants, then records what it saw. Every status
change happens in one transaction with the pointer it moves (ActiveDeployment), so a crash at
any point leaves a state the next pass converges from.

Each environment's pass is its own task with its own deadline: one whose cluster is broken or
slow records its error on the environment (and on the cluster when the cluster could not be
reached) while the others keep being reconciled on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from tortoise.transactions import in_transaction

from galapagos_core.kernel.config import ReconcileSettings
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadBackend, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.deployments import Deployment, Workload
from galapagos_model.enums import ClusterStatus, DeploymentStatus, DesiredState, WorkloadState
from galapagos_model.queries import clusters as cluster_queries
from galapagos_model.queries import deployments as deployment_queries
from galapagos_model.queries import reconcile as reconcile_queries

log = logging.getLogger("galapagos.reconciler")

BackendFor = Callable[[Environment], Awaitable[WorkloadBackend]]
SpecOpener = Callable[[dict[str, Any]], WorkloadSpec]


def _now() -> datetime:
    return datetime.now(UTC)


def _settled(workload: Workload, seen: Observed | None) -> bool:
    """The observation changes nothing the database holds."""
    in_flight = workload.deployment.status in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING)
    if in_flight:
        return False
    if workload.desired_state == DesiredState.UNDEPLOYED:
        return seen is None and workload.current_state == WorkloadState.UNDEPLOYED
    return (
        seen is not None
        and seen.spec_hash == workload.spec_hash
        and seen.state == workload.current_state
        and (seen.url or workload.url) == workload.url
    )


def _forget(running: dict[uuid.UUID, Any], key: uuid.UUID, _: object) -> None:
    running.pop(key, None)


class Unreachable(Exception):
    """The environment's backend could not be reached or listed: its cluster's trouble."""


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"[:_MAX_ERROR]


_MAX_ERROR = 2000


class Reconciler:
    def __init__(
        self, backend_for: BackendFor, open_spec: SpecOpener, settings: ReconcileSettings
    ) -> None:
        self.backend_for = backend_for
        self.open_spec = open_spec
        self.settings = settings
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._slots = asyncio.Semaphore(settings.parallel_environments)

    async def run(self, stop: asyncio.Event) -> None:
        """Start a pass for each environment every interval, unless its last one still runs:
        a slow environment never holds the others back."""
        running: dict[uuid.UUID, asyncio.Task[bool]] = {}
        while not stop.is_set():
            try:
                for environment_id in await reconcile_queries.environment_ids():
                    if environment_id not in running:
                        task = asyncio.create_task(self.reconcile_one(environment_id))
                        running[environment_id] = task
                        task.add_done_callback(partial(_forget, running, environment_id))
            except Exception:
                log.exception("listing environments failed")
            interval = self.settings.interval_seconds * random.uniform(0.8, 1.2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        for task in list(running.values()):
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)

    async def run_once(self) -> int:
        """One pass over every environment nobody else holds; how many succeeded."""
        ids = await reconcile_queries.environment_ids()
        return sum(await asyncio.gather(*(self.reconcile_one(i) for i in ids)))

    async def reconcile_one(self, environment_id: uuid.UUID) -> bool:
        """Claim, reconcile within the deadline, release with the outcome; True if it worked."""
        async with self._slots:
            lease = timedelta(seconds=self.settings.lease_seconds)
            environment = await reconcile_queries.claim(environment_id, self.owner, _now(), lease)
            if environment is None:
                return False
            error: str | None = None
            holding = asyncio.create_task(self._hold(environment_id, lease))
            try:
                await asyncio.wait_for(
                    self.reconcile(environment), self.settings.environment_timeout_seconds
                )
            except Unreachable as exc:
                error = _describe(exc.__cause__ or exc)
                if environment.cluster is not None:
                    await cluster_queries.record_health(
                        environment.cluster,
                        status=ClusterStatus.UNREACHABLE,
                        status_message=f"environment {environment.name}: {error}"[:_MAX_ERROR],
                        checked_at=_now(),
                    )
            except TimeoutError:
                seconds = self.settings.environment_timeout_seconds
                error = f"the pass took longer than {seconds:g}s and was stopped"
            except BackendError as exc:
                error = _describe(exc)
            except Exception as exc:
                log.exception("environment %s: reconcile pass failed", environment.name)
                error = _describe(exc)
            finally:
                holding.cancel()
                if error is not None:
                    log.warning("environment %s: %s", environment.name, error)
                await reconcile_queries.release(environment_id, self.owner, _now(), error)
            return error is None

    async def _hold(self, environment_id: uuid.UUID, lease: timedelta) -> None:
        """Renew the environment's lease while its pass runs."""
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            await reconcile_queries.renew(environment_id, self.owner, _now() + lease)

    async def reconcile(self, environment: Environment) -> None:
        workloads = await deployment_queries.workloads_of(environment.id)
        if not workloads and environment.ray_address == "local":
            return  # nothing to run: do not start a local Ray just to look
        try:
            backend = await self.backend_for(environment)
            observed = await backend.observe(environment)
        except Exception as exc:
            raise Unreachable(str(exc)) from exc
        wanted = {w.name: w for w in workloads}

        to_apply: list[WorkloadSpec] = []
        for workload in workloads:
            if workload.desired_state != DesiredState.DEPLOYED:
                continue
            spec = self.open_spec(workload.spec)
            seen = observed.get(workload.name)
            if seen is None or not backend.matches(environment, spec, seen):
                to_apply.append(spec)
        stale = [
            name
            for name in observed
            if name not in wanted or wanted[name].desired_state == DesiredState.UNDEPLOYED
        ]
        if to_apply:
            log.info("environment %s: applying %s", environment.name, [s.name for s in to_apply])
            await backend.apply(environment, to_apply)
        if stale:
            log.info("environment %s: deleting %s", environment.name, stale)
            await backend.delete(environment, stale)
        applied = {spec.name for spec in to_apply}
        await self._mark_deploying([w for w in workloads if w.name in applied])
        for workload in workloads:
            seen = observed.get(workload.name)
            if workload.name in applied or _settled(workload, seen):
                continue  # nothing new to record: no transaction
            await self._record(workload, seen)

    async def _mark_deploying(self, workloads: list[Workload]) -> None:
        """Record, in one transaction for the whole pass, that these specs were just applied."""
        if not workloads:
            return
        async with in_transaction():
            await deployment_queries.mark_deploying(
                [w.id for w in workloads],
                [
                    w.deployment
                    for w in workloads
                    if w.deployment.status == DeploymentStatus.PENDING
                ],
                _now(),
            )

    async def _record(self, workload: Workload, seen: Observed | None) -> None:
        async with in_transaction():
            current = await deployment_queries.locked_workload(workload.id)
            if current is None or current.generation != workload.generation:
                return  # changed by a request meanwhile: the next pass handles it
            current.last_reconciled_at = _now()
            if current.desired_state == DesiredState.UNDEPLOYED:
                current.current_state = WorkloadState.UNDEPLOYED
                current.url = None
                await current.save()
                return
            if seen is None or seen.spec_hash != current.spec_hash:
                current.current_state = WorkloadState.DEPLOYING
                current.observed_generation = current.generation
                await current.save()
                await self._progress(current.deployment, DeploymentStatus.DEPLOYING, None)
                return
            assert seen is not None
            current.current_state = seen.state
            current.url = seen.url or current.url
            if seen.external_id is not None:
                current.external_id = seen.external_id
            current.last_error = seen.message if seen.state == WorkloadState.FAILED else None  # type: ignore[assignment]
            await current.save()
            if seen.state == WorkloadState.READY:
                await self._activate(current)
            elif seen.state == WorkloadState.FAILED:
                await self._fail(current, seen.message or "the backend reported a failure")

    async def _progress(
        self, deployment: Deployment, status: DeploymentStatus, note: str | None
    ) -> None:
        if deployment.status == DeploymentStatus.PENDING and status == DeploymentStatus.DEPLOYING:
            deployment.status = status
            await deployment.save(update_fields=["status", "updated_at"])
            await deployment_queries.record_event(
                deployment, status, note or "applied to the backend"
            )

    async def _activate(self, workload: Workload) -> None:
        deployment = workload.deployment
        if deployment.status not in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING):
            return
        now = _now()
        active = await deployment_queries.active_for(
            workload.serve_id,
            workload.environment_id,
            lock=True,
        )
        previous = active.deployment if active else None
        if previous is not None and previous.id != deployment.id:
            previous.status = DeploymentStatus.SUPERSEDED
            previous.ended_at = now
            await previous.save(update_fields=["status", "ended_at", "updated_at"])
            await deployment_queries.record_event(
                previous, DeploymentStatus.SUPERSEDED, f"superseded by {deployment.id}"
            )
        deployment.status = DeploymentStatus.ACTIVE
        deployment.ready_at = now
        deployment.inflight_key = None
        if workload.url:
            deployment.service_url = workload.url
        await deployment.save()
        await deployment_queries.record_event(deployment, DeploymentStatus.ACTIVE, "ready")
        await deployment_queries.point_active(
            workload.serve_id,
            workload.environment_id,
            deployment,
            previous,
        )
        log.info("deployment %s is active", deployment.id)

    async def _fail(self, workload: Workload, message: str) -> None:
        deployment = workload.deployment
        if deployment.status not in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING):
            return
        deployment.status = DeploymentStatus.FAILED
        deployment.error = message
        deployment.ended_at = _now()
        deployment.inflight_key = None
        await deployment.save()
        await deployment_queries.record_event(deployment, DeploymentStatus.FAILED, message)
        # The previous version keeps serving: the workload goes back to its spec.
        active = await deployment_queries.active_for(
            workload.serve_id,
            workload.environment_id,
        )
        if active is not None:
            restored = active.deployment
            workload.deployment = restored
            workload.spec = restored.spec
            workload.spec_hash = WorkloadSpec.model_validate(restored.spec).digest()
        else:
            workload.desired_state = DesiredState.UNDEPLOYED
        workload.generation += 1
        await workload.save()
        log.info("deployment %s failed: %s", deployment.id, message)
