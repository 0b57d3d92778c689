"""What the traffic capability answers when a rule is broken (each with its own code)."""

from __future__ import annotations

from galapagos_core.kernel.errors import Conflict, InvalidInput, NotFound


def config_not_found(serve: str, env: str) -> NotFound:
    return NotFound(
        f"'{serve}' has no traffic config in '{env}'",
        code="TRAFFIC_CONFIG_NOT_FOUND",
        serve=serve,
        env=env,
    )


def config_exists(serve: str, env: str) -> Conflict:
    return Conflict(
        f"'{serve}' already has a traffic config in '{env}': change its variants and weights",
        code="TRAFFIC_CONFIG_EXISTS",
        serve=serve,
        env=env,
    )


def variant_not_found(name: str) -> NotFound:
    return NotFound(f"no traffic variant '{name}'", code="TRAFFIC_VARIANT_NOT_FOUND", variant=name)


def invalid_variant_name(name: str) -> InvalidInput:
    return InvalidInput(
        f"'{name}' is not a variant name: 1 to 50 lower-case letters, digits and '_', "
        "starting with a letter",
        code="INVALID_VARIANT_NAME",
        variant=name,
    )


def invalid_weight(name: str, weight: int) -> InvalidInput:
    return InvalidInput(
        f"the weight of '{name}' is {weight}: weights are percentages from 0 to 100",
        code="INVALID_TRAFFIC_WEIGHT",
        variant=name,
        weight=weight,
    )


def weight_sum_exceeds_100(total: int) -> InvalidInput:
    return InvalidInput(
        f"the variants' weights add up to {total}: at most 100 (shadow copies not counted)",
        code="WEIGHT_SUM_EXCEEDS_100",
        total=total,
    )


def variant_exists(name: str) -> Conflict:
    return Conflict(
        f"the traffic config already has a variant '{name}'",
        code="VARIANT_ALREADY_EXISTS",
        variant=name,
    )


def candidate_exists(strategy: str, existing: str) -> Conflict:
    return Conflict(
        f"a {strategy} config tries one new version at a time, and '{existing}' is it: "
        "promote it or roll it back first",
        code="CANARY_ALREADY_EXISTS",
        variant=existing,
    )


def no_stable_variant() -> InvalidInput:
    return InvalidInput(
        "a traffic config needs a variant named 'stable': the version that takes the traffic "
        "no other variant is given",
        code="NO_STABLE_VARIANT",
    )


def cannot_promote_stable() -> Conflict:
    return Conflict("'stable' is already the stable variant", code="CANNOT_PROMOTE_STABLE")


def cannot_promote_inactive(name: str, status: str) -> Conflict:
    return Conflict(
        f"'{name}' is {status}: only an active variant (its workload ready) can be promoted",
        code="CANNOT_PROMOTE_INACTIVE",
        variant=name,
        status=status,
    )


def cannot_delete_stable() -> Conflict:
    return Conflict(
        "the stable variant cannot be deleted: promote another variant first, or undeploy "
        "the serve",
        code="CANNOT_DELETE_STABLE",
    )
