"""What the GPU-instance capability answers when a rule is broken (each with its own code)."""

from __future__ import annotations

from galapagos_core.gpu.placement import Offer
from galapagos_core.kernel.errors import InvalidInput, NotFound


def instance_not_found(instance_id: str) -> NotFound:
    return NotFound(
        f"no GPU instance '{instance_id}'", code="GPU_INSTANCE_NOT_FOUND", instance_id=instance_id
    )


def model_not_found(model_id: str) -> NotFound:
    return NotFound(
        f"the catalog has no model '{model_id}'", code="LLM_MODEL_NOT_FOUND", model_id=model_id
    )


def model_inactive(model_id: str) -> InvalidInput:
    return InvalidInput(
        f"model '{model_id}' is not active in the catalog",
        code="LLM_MODEL_INACTIVE",
        model_id=model_id,
    )


def nothing_fits(model_id: str, need_gb: int, largest: Offer | None, policy: str) -> InvalidInput:
    if largest is None:
        return InvalidInput(
            f"no instance type is offered for this environment: '{model_id}' needs {need_gb} GB "
            "of GPU memory",
            code="NO_INSTANCE_TYPE_FITS",
            model_id=model_id,
            needed_vram_gb=need_gb,
        )
    if largest.vram_gb >= need_gb:
        why = f"no type large enough is offered as the policy '{policy}' allows"
    else:
        why = (
            f"the largest type, {largest.instance_type}, has {largest.gpu_count} x "
            f"{largest.vram_per_gpu_gb} GB = {largest.vram_gb} GB"
        )
    return InvalidInput(
        f"'{model_id}' needs {need_gb} GB of GPU memory (weights and headroom); {why}",
        code="NO_INSTANCE_TYPE_FITS",
        model_id=model_id,
        needed_vram_gb=need_gb,
        largest_instance_type=largest.instance_type,
        largest_vram_gb=largest.vram_gb,
    )


def no_gpus(env: str) -> InvalidInput:
    return InvalidInput(
        f"environment '{env}' has no GPUs: its local Ray head declares none (set "
        "GALAPAGOS_RAY__NUM_GPUS where the machine has them)",
        code="ENVIRONMENT_HAS_NO_GPUS",
        env=env,
    )
