"""What each variant of a serve's traffic answered over a window: requests, errors, success
rate and latency quantiles, from the routers' metrics (galapagos_core.traffic.metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from galapagos_core.catalog.environments import environment_named
from galapagos_core.catalog.serves import visible_serve
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import GalapagosError, InvalidInput, NotFound
from galapagos_core.traffic import errors
from galapagos_core.traffic.gates import Counts, rounded
from galapagos_core.traffic.metrics import RouterMetrics
from galapagos_model.catalog import Environment
from galapagos_model.enums import EnvironmentBackend, ProjectRole
from galapagos_model.queries import traffic as traffic_queries

MAX_WINDOW = timedelta(days=31)
CLOCK_SKEW = timedelta(minutes=1)  # an ``until`` this far ahead still counts as now


@dataclass(frozen=True)
class VariantFigures:
    """A variant's answers: requests, 5xx or unanswered, and latency in milliseconds."""

    variant_name: str
    requests: float
    errors: float
    success_rate: float | None
    p50_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, name: str, counts: Counts) -> VariantFigures:
        return cls(
            name,
            counts.requests,
            counts.errors,
            rounded(counts.success_rate),
            rounded(counts.quantile(0.5)),
            rounded(counts.quantile(0.99)),
        )


@dataclass(frozen=True)
class Window:
    source: str  # where the figures were read: "prometheus" or "ray"
    since: datetime | None  # None: since the routers started
    until: datetime
    variants: list[VariantFigures]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def check_range(since: datetime | None, until: datetime | None, now: datetime) -> None:
    problem = None
    if until is not None and until > now + CLOCK_SKEW:
        problem = "until is in the future"
    elif since is not None and since >= (until or now):
        problem = "since must be before until"
    elif since is not None and (until or now) - since > MAX_WINDOW:
        problem = f"a window spans at most {MAX_WINDOW.days} days"
    if problem is not None:
        raise InvalidInput(
            f"invalid time range: {problem}",
            code="INVALID_TIME_RANGE",
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
        )


def metric_not_found(variant: str) -> NotFound:
    return NotFound(
        f"no requests of variant '{variant}' are recorded in this window",
        code="METRIC_NOT_FOUND",
        variant=variant,
    )


class TrafficFigures:
    def __init__(self, metrics: RouterMetrics) -> None:
        self.metrics = metrics

    def _source(self, environment: Environment) -> str:
        return "prometheus" if environment.env_configs.get("prometheus_url") else "ray"

    async def window(
        self,
        actor: Actor,
        serve_name: str,
        env_name: str,
        variant: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> Window:
        """The figures of ``variant`` (None: every variant) between ``since`` and ``until``."""
        serve = await visible_serve(actor, serve_name, ProjectRole.VIEWER)
        environment = await environment_named(env_name)
        config = await traffic_queries.config_for(serve.id, environment.id)
        if config is None:
            raise errors.config_not_found(serve_name, env_name)
        names = [v.name for v in await traffic_queries.variants_of(config.id)]
        if variant is not None and variant not in names:
            raise errors.variant_not_found(variant)
        now = datetime.now(UTC)
        since, until = _utc(since), _utc(until)
        check_range(since, until, now)
        counts = await self.metrics.window(environment, serve.name, since, until)
        # The variants configured, and any other that answered in the window (one rolled
        # back meanwhile); not those of the serve's earlier configs that the metrics still carry.
        counts = {n: c for n, c in counts.items() if n in names or c.requests}
        if variant is not None:
            found = counts.get(variant)
            if found is None or not found.requests:
                raise metric_not_found(variant)
            counts = {variant: found}
        figures = [VariantFigures.of(name, c) for name, c in sorted(counts.items())]
        return Window(self._source(environment), since, until or now, figures)

    async def live(
        self, environment: Environment, serve_name: str
    ) -> tuple[dict[str, VariantFigures], str | None]:
        """Each variant's figures since the routers started, and why there are none when the
        environment's metrics cannot be read (the view shows its config regardless)."""
        backend = environment.backend
        routers = backend == EnvironmentBackend.RAY or (
            backend == EnvironmentBackend.KUBERAY and environment.env_configs.get("prometheus_url")
        )
        if not routers:  # KServe's routes export no per-variant figures; KubeRay's, Prometheus'
            return {}, "this environment exports no per-variant metrics"
        try:
            counts = await self.metrics.window(environment, serve_name, None, None)
        except GalapagosError as exc:
            return {}, exc.message
        return {name: VariantFigures.of(name, c) for name, c in counts.items()}, None
