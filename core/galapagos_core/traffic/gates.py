"""A rollout step's verdict: does the candidate do well enough, over the step's window, to
take the next step? Figures are the routers' counters (galapagos_core.traffic.metrics)
differenced over the window; the verdict carries them, as the deployment event shows them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Counts:
    """One variant's primary requests as cumulative counters: total, 5xx or no answer, and
    the latency histogram (upper bound in ms → requests at or under it)."""

    requests: float = 0
    errors: float = 0
    buckets: dict[float, float] = field(default_factory=dict)

    def since(self, earlier: Counts) -> Counts:
        """What happened between ``earlier`` and this (a router replica that restarted starts
        its counters again: a negative difference counts as nothing)."""
        return Counts(
            max(0.0, self.requests - earlier.requests),
            max(0.0, self.errors - earlier.errors),
            {le: max(0.0, n - earlier.buckets.get(le, 0)) for le, n in self.buckets.items()},
        )

    @property
    def success_rate(self) -> float | None:
        return 1 - self.errors / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """Like PromQL's histogram_quantile: linear within the bucket the rank falls in."""
        if not self.requests or not self.buckets:
            return None
        bounds = sorted(self.buckets)
        rank = q * self.buckets[bounds[-1]]
        lower, below = 0.0, 0.0
        for bound in bounds:
            count = self.buckets[bound]
            if count >= rank:
                if math.isinf(bound):
                    return lower  # beyond the last finite bound: that bound is all we know
                inside = count - below
                return lower + (bound - lower) * ((rank - below) / inside if inside else 1)
            lower, below = bound, count
        return lower

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "buckets": [[_bound(le), n] for le, n in sorted(self.buckets.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counts:
        return cls(data["requests"], data["errors"], {float(le): n for le, n in data["buckets"]})


def _bound(le: float) -> float | str:
    return "+Inf" if math.isinf(le) else le


@dataclass(frozen=True)
class Verdict:
    decision: Literal["pass", "fail", "wait"]
    reason: str
    figures: dict[str, Any]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def judge(candidate: Counts, stable: Counts, gates: dict[str, Any]) -> Verdict:
    """The step's verdict for ``candidate`` against ``stable`` over the same window, under
    ``gates`` (galapagos_core.traffic.specs.Gates as stored)."""
    rate, stable_rate = candidate.success_rate, stable.success_rate
    p99, stable_p99 = candidate.quantile(0.99), stable.quantile(0.99)
    figures = {
        "candidate": {
            "requests": candidate.requests,
            "success_rate": rounded(rate),
            "p99_ms": rounded(p99),
        },
        "stable": {
            "requests": stable.requests,
            "success_rate": rounded(stable_rate),
            "p99_ms": rounded(stable_p99),
        },
    }
    if candidate.requests < gates["min_requests"] or rate is None:
        return Verdict(
            "wait",
            f"{candidate.requests:g} requests reached the candidate, "
            f"{gates['min_requests']} are needed to judge it",
            figures,
        )
    if rate < gates["min_success_rate"]:
        return Verdict(
            "fail", f"success rate {rate:.2%} is below {gates['min_success_rate']:.2%}", figures
        )
    drop = gates["max_success_rate_drop"]
    if stable_rate is not None and rate < stable_rate - drop:
        return Verdict(
            "fail",
            f"success rate {rate:.2%} is more than {drop:.2%} below stable's {stable_rate:.2%}",
            figures,
        )
    limit = gates.get("max_p99_ms")
    if limit is not None and p99 is not None and p99 > limit:
        return Verdict("fail", f"p99 {p99:.1f} ms is above {limit:g} ms", figures)
    ratio = gates.get("max_p99_ratio")
    if ratio is not None and p99 is not None and stable_p99 and p99 > ratio * stable_p99:
        return Verdict(
            "fail",
            f"p99 {p99:.1f} ms is more than {ratio:g} times stable's {stable_p99:.1f} ms",
            figures,
        )
    return Verdict("pass", "every gate passed", figures)
