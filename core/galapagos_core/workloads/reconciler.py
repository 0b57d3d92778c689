"""The reconciler: makes each environment's backend match the workloads the database wants,
and moves deployments along as it observes them.

Environments are claimed with row leases, so any number of workers may run. A pass lists
the environment's managed objects once, applies what is missing or different (drift repair
included), deletes managed objects nobody wants, then records what it saw
(galapagos_core.workloads.observations).

Each environment's pass is its own task with its own deadline: one whose cluster is broken or
slow records its error on the environment (and on the cluster when the cluster could not be
reached) while the others keep being reconciled on time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from galapagos_core.kernel.config import ReconcileSettings
from galapagos_core.kernel.loops import Wakeup, every, owner_id
from galapagos_core.workloads.observations import HealthWatch, record, record_applied, settled
from galapagos_core.workloads.spec import BackendError, Observed, WorkloadBackend, WorkloadSpec
from galapagos_model.catalog import Environment
from galapagos_model.enums import ClusterStatus, DesiredState
from galapagos_model.queries import clusters as cluster_queries
from galapagos_model.queries import reconcile as reconcile_queries
from galapagos_model.queries import workloads as workload_queries

log = logging.getLogger("galapagos.reconciler")

BackendFor = Callable[[Environment], Awaitable[WorkloadBackend]]
SpecOpener = Callable[[dict[str, Any]], WorkloadSpec]


class Companion(Protocol):
    """A capability that takes part in each environment's pass (traffic, virtual models)."""

    async def prepare(self, environment: Environment) -> list[WorkloadSpec]:
        """At the start of the pass: bring what it owns along (which may change what the
        workloads want); the objects it wants on the backend beside the workloads, specs
        opened (they are rendered as they are)."""

    async def observed(self, environment: Environment, seen: dict[str, Observed | None]) -> None:
        """What the backend showed of those objects (None: not there), after the pass
        applied what it had to."""


_MAX_ERROR = 2000


def _now() -> datetime:
    return datetime.now(UTC)


def _forget(running: dict[uuid.UUID, Any], key: uuid.UUID, _: object) -> None:
    running.pop(key, None)


class Unreachable(Exception):
    """The environment's backend could not be reached or listed: its cluster's trouble."""


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"[:_MAX_ERROR]


class Reconciler:
    def __init__(
        self,
        backend_for: BackendFor,
        open_spec: SpecOpener,
        settings: ReconcileSettings,
        wakeup: Wakeup | None = None,
        companions: Sequence[Companion] = (),
    ) -> None:
        self.backend_for = backend_for
        self.companions = companions
        self.open_spec = open_spec
        self.settings = settings
        self.wakeup = wakeup or Wakeup()
        self.owner = owner_id()
        self._slots = asyncio.Semaphore(settings.parallel_environments)
        self._running: dict[uuid.UUID, asyncio.Task[bool]] = {}
        self.health = HealthWatch(settings.health_timeout_seconds)
        self._occupied: set[uuid.UUID] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Start a pass for each environment every interval (at once when rung), unless its
        last one still runs: a slow environment never holds the others back."""
        try:
            await every(
                self.settings.interval_seconds,
                stop,
                self._start_passes,
                name="reconciler",
                wakeup=self.wakeup,
            )
        finally:
            for task in list(self._running.values()):
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _start_passes(self) -> None:
        for environment_id in await reconcile_queries.environment_ids():
            if environment_id not in self._running:
                task = asyncio.create_task(self.reconcile_one(environment_id))
                self._running[environment_id] = task
                task.add_done_callback(partial(_forget, self._running, environment_id))

    async def run_once(self) -> int:
        """One pass over every environment nobody else holds; how many succeeded."""
        ids = await reconcile_queries.environment_ids()
        return sum(await asyncio.gather(*(self.reconcile_one(i) for i in ids)))

    async def reconcile_one(self, environment_id: uuid.UUID) -> bool:
        """Claim, reconcile within the deadline, release, record the outcome; True if it
        worked."""
        async with self._slots:
            lease = timedelta(seconds=self.settings.lease_seconds)
            environment = await reconcile_queries.claim(environment_id, self.owner, _now(), lease)
            if environment is None:
                return False
            holding = asyncio.create_task(self._hold(environment_id, lease))
            try:
                error = await self._pass(environment)
            finally:  # a pass cut short (shutdown) hands the lease back and records nothing
                holding.cancel()
                await reconcile_queries.release(environment_id, self.owner)
            await reconcile_queries.record_outcome(environment_id, _now(), error)
            return error is None

    async def _pass(self, environment: Environment) -> str | None:
        """Reconcile within the deadline; why it failed, or None."""
        error: str | None = None
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
        if error is not None:
            log.warning("environment %s: %s", environment.name, error)
        return error

    async def _hold(self, environment_id: uuid.UUID, lease: timedelta) -> None:
        """Renew the environment's lease while its pass runs."""
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            await reconcile_queries.renew(environment_id, self.owner, _now() + lease)

    async def reconcile(self, environment: Environment) -> None:
        wants = [(c, await c.prepare(environment)) for c in self.companions]
        extra = [spec for _, specs in wants for spec in specs]
        workloads = await workload_queries.workloads_of(environment.id)
        if (
            not workloads
            and not extra
            and environment.ray_address == "local"
            and environment.id not in self._occupied
        ):
            return  # nothing to run or remove: do not start a local Ray just to look
        try:
            backend = await self.backend_for(environment)
            # Rollouts in flight must answer their health route before they count as ready.
            rolling = [w.name for w in workloads if w.deployment.status.in_flight]
            observed = await backend.observe(environment, rolling)
        except Exception as exc:
            raise Unreachable(str(exc)) from exc
        # Seen holding objects: looked at again even once nothing is wanted, to remove them.
        if observed:
            self._occupied.add(environment.id)
        else:
            self._occupied.discard(environment.id)
        wanted = {w.name: w for w in workloads}

        to_apply: list[WorkloadSpec] = []
        for workload in workloads:
            if workload.desired_state != DesiredState.DEPLOYED:
                continue
            spec = self.open_spec(workload.spec)
            seen = observed.get(workload.name)
            if seen is None or not backend.matches(environment, spec, seen):
                to_apply.append(spec)
        for spec in extra:
            seen = observed.get(spec.name)
            if seen is None or not backend.matches(environment, spec, seen):
                to_apply.append(spec)
        owned = {spec.name for spec in extra}
        stale = [
            name
            for name in observed
            if name not in owned
            and (name not in wanted or wanted[name].desired_state == DesiredState.UNDEPLOYED)
        ]
        # Unwanted objects go first: what replaces them may take their names or routes.
        if stale:
            log.info("environment %s: deleting %s", environment.name, stale)
            await backend.delete(environment, stale)
        if to_apply:
            log.info("environment %s: applying %s", environment.name, [s.name for s in to_apply])
            await backend.apply(environment, to_apply)
        applied = {spec.name for spec in to_apply}
        await record_applied([w for w in workloads if w.name in applied])
        for workload in workloads:
            seen = observed.get(workload.name)
            if workload.name in applied or settled(workload, seen):
                continue  # nothing new to record: no transaction
            await record(workload, seen, self.health)
        for companion, specs in wants:
            await companion.observed(environment, {s.name: observed.get(s.name) for s in specs})
