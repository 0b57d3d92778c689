"""What the infra capability answers for a serve with no config in an environment."""

from __future__ import annotations

from galapagos_core.kernel.errors import NotFound


def infra_config_not_found(serve: str, env: str) -> NotFound:
    return NotFound(
        f"serve '{serve}' has no infra config for environment '{env}'",
        code="INFRA_CONFIG_NOT_FOUND",
        serve=serve,
        env=env,
    )
