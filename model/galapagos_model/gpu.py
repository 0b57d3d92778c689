"""The GPU catalog: providers, their regions and zones, instance types with their GPUs and
hourly prices, where each type is available (and as which capacity), and the LLM models that
GPU instances serve, with what they need. Field names follow the catalog's specification."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from tortoise import fields

from galapagos_model.base import Entity
from galapagos_model.catalog import Environment
from galapagos_model.enums import CapacityKind, EnvironmentBackend, GpuInstanceStatus, ProviderKind
from galapagos_model.identity import Project


class Provider(Entity):
    name = fields.CharField(max_length=50, unique=True)
    kind = fields.CharEnumField(ProviderKind, max_length=16, default=ProviderKind.KUBERNETES)
    description = fields.TextField(default="")

    regions: fields.ReverseRelation[Region]
    instance_types: fields.ReverseRelation[InstanceType]

    class Meta:
        table = "gpu_providers"


class Region(Entity):
    provider: fields.ForeignKeyRelation[Provider] = fields.ForeignKeyField(
        "models.Provider", related_name="regions", on_delete=fields.CASCADE
    )
    provider_id: UUID
    name = fields.CharField(max_length=50)

    zones: fields.ReverseRelation[Zone]

    class Meta:
        table = "gpu_regions"
        unique_together = (("provider", "name"),)


class Zone(Entity):
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="zones", on_delete=fields.CASCADE
    )
    region_id: UUID
    name = fields.CharField(max_length=50)

    class Meta:
        table = "gpu_zones"
        unique_together = (("region", "name"),)


class InstanceType(Entity):
    provider: fields.ForeignKeyRelation[Provider] = fields.ForeignKeyField(
        "models.Provider", related_name="instance_types", on_delete=fields.CASCADE
    )
    provider_id: UUID
    name = fields.CharField(max_length=50)
    gpu_model = fields.CharField(max_length=50)  # "H100", "A10G", "L4"
    gpu_count = fields.IntField()
    vram_per_gpu_gb = fields.IntField()
    vcpus = fields.IntField()
    memory_gb = fields.IntField()
    # Hourly, in the catalog's currency (USD in the sample); None: not sold that way.
    on_demand_price: Decimal | None = fields.DecimalField(
        max_digits=10, decimal_places=4, null=True
    )
    spot_price: Decimal | None = fields.DecimalField(max_digits=10, decimal_places=4, null=True)
    # What pins a pod to this type's node pool.
    node_selector: dict[str, str] = fields.JSONField(default=dict)
    tolerations: list[dict[str, Any]] = fields.JSONField(default=list)

    availability: fields.ReverseRelation[InstanceAvailability]

    class Meta:
        table = "gpu_instance_types"
        unique_together = (("provider", "name"),)


class InstanceAvailability(Entity):
    """An instance type offered in a zone, as which capacity kinds (spot, on_demand)."""

    instance_type: fields.ForeignKeyRelation[InstanceType] = fields.ForeignKeyField(
        "models.InstanceType", related_name="availability", on_delete=fields.CASCADE
    )
    instance_type_id: UUID
    zone: fields.ForeignKeyRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name="availability", on_delete=fields.CASCADE
    )
    zone_id: UUID
    capacity: list[str] = fields.JSONField(default=list)

    class Meta:
        table = "gpu_instance_availability"
        unique_together = (("instance_type", "zone"),)


class LlmModel(Entity):
    name = fields.CharField(max_length=255)  # "Llama 3 70B"
    model_id = fields.CharField(max_length=255, unique=True)  # a Hugging Face id
    required_vram_gb = fields.IntField()  # the weights at the dtype it is served in
    context_length = fields.IntField()
    # The serving engine's arguments (vLLM's: max_model_len, dtype, …).
    engine_args: dict[str, Any] = fields.JSONField(default=dict)
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "llm_models"


class GpuInstance(Entity):
    """A model served on GPUs of one instance type in one zone, run on an environment (a
    KServe InferenceService, a RayService, or a Serve LLM application on a Ray cluster)."""

    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name=False, on_delete=fields.RESTRICT
    )
    project_id: UUID
    llm_model: fields.ForeignKeyRelation[LlmModel] = fields.ForeignKeyField(
        "models.LlmModel", related_name="instances", on_delete=fields.RESTRICT
    )
    llm_model_id: UUID
    instance_type: fields.ForeignKeyRelation[InstanceType] = fields.ForeignKeyField(
        "models.InstanceType", related_name=False, on_delete=fields.RESTRICT
    )
    instance_type_id: UUID
    zone: fields.ForeignKeyRelation[Zone] = fields.ForeignKeyField(
        "models.Zone", related_name=False, on_delete=fields.RESTRICT
    )
    zone_id: UUID
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "models.Environment", related_name=False, on_delete=fields.RESTRICT
    )
    environment_id: UUID
    name = fields.CharField(max_length=63, unique=True)  # its object's name on the backend
    backend = fields.CharEnumField(EnvironmentBackend, max_length=16)
    capacity = fields.CharEnumField(CapacityKind, max_length=16)
    policy = fields.CharField(max_length=32)  # the capacity policy it was placed under
    hourly_price: Decimal = fields.DecimalField(max_digits=10, decimal_places=4)
    # The type's GPUs when it was placed: {gpu_model, gpu_count, vram_per_gpu_gb, vram_gb}.
    gpu_profile: dict[str, Any] = fields.JSONField()
    endpoint = fields.CharField(max_length=1024, null=True)  # its OpenAI base URL once ready
    current_load = fields.FloatField(default=0)  # requests in flight, as last reported
    last_heartbeat_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(
        GpuInstanceStatus, max_length=16, default=GpuInstanceStatus.PROVISIONING
    )
    status_message = fields.TextField(null=True)
    drain_deadline = fields.DatetimeField(null=True)  # terminated then, in flight or not
    terminated_at = fields.DatetimeField(null=True)
    # The instance this one replaced (a preempted spot instance).
    replaces: fields.ForeignKeyNullableRelation[GpuInstance] = fields.ForeignKeyField(
        "models.GpuInstance", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    replaces_id: UUID | None

    class Meta:
        table = "gpu_instances"
        indexes = (("environment_id", "status"), ("updated_at",))


class GpuInstanceEvent(Entity):
    """A GPU instance's history: each state it entered, and why."""

    instance: fields.ForeignKeyRelation[GpuInstance] = fields.ForeignKeyField(
        "models.GpuInstance", related_name="events", on_delete=fields.CASCADE
    )
    instance_id: UUID
    status = fields.CharEnumField(GpuInstanceStatus, max_length=16)
    message = fields.TextField()

    class Meta:
        table = "gpu_instance_events"
