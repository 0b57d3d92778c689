"""The GPU catalog as a file (``galapagos catalog import FILE.yaml``) and as the API reads it.
An import is one transaction and idempotent: rows are found by their natural keys (provider
name; region, zone and type names within it; model id), updated where they differ, added where
new, and nothing is deleted. A sample ships in ``resources/catalog/gpu-catalog.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tortoise.exceptions import IntegrityError

from galapagos_core.kernel import audit
from galapagos_core.kernel.access import require_admin
from galapagos_core.kernel.actor import Actor
from galapagos_core.kernel.errors import Conflict
from galapagos_core.kernel.transactions import transactional
from galapagos_model.enums import CapacityKind, ProviderKind
from galapagos_model.gpu import InstanceType, LlmModel, Provider
from galapagos_model.queries import gpu as gpu_queries
from galapagos_model.queries.paging import Page, PageRequest

Name = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionFile(_Strict):
    name: Name = Field(min_length=1, max_length=50)
    zones: list[Name] = Field(min_length=1)


class InstanceTypeFile(_Strict):
    name: Name = Field(min_length=1, max_length=50)
    gpu_model: str = Field(min_length=1, max_length=50)
    gpu_count: int = Field(ge=1, le=64)
    vram_per_gpu_gb: int = Field(ge=1, le=4096)
    vcpus: int = Field(ge=1, le=100_000)
    memory_gb: int = Field(ge=1, le=100_000_000)
    on_demand_price: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=4)
    spot_price: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=4)
    node_selector: dict[str, str] | None = Field(
        None, description="default: node.kubernetes.io/instance-type=<name>"
    )
    tolerations: list[dict[str, Any]] | None = Field(
        None, description="default: tolerate the nvidia.com/gpu taint"
    )


class ProviderFile(_Strict):
    name: Name = Field(min_length=1, max_length=50)
    kind: ProviderKind = ProviderKind.KUBERNETES
    description: str = ""
    regions: list[RegionFile] = Field(min_length=1)
    instance_types: list[InstanceTypeFile] = []
    # type → zone → capacity kinds; a type not named here is offered in every zone as both.
    availability: dict[Name, dict[Name, list[CapacityKind]]] = {}

    @model_validator(mode="after")
    def _known_names(self) -> ProviderFile:
        zones = {z for r in self.regions for z in r.zones}
        types = {t.name for t in self.instance_types}
        for type_name, offered in self.availability.items():
            if type_name not in types:
                raise ValueError(f"availability names '{type_name}', not an instance type here")
            for zone in offered:
                if zone not in zones:
                    raise ValueError(
                        f"availability of '{type_name}' names '{zone}', not a zone here"
                    )
        return self


class LlmModelFile(_Strict):
    name: str = Field(min_length=1, max_length=255)
    model_id: str = Field(min_length=1, max_length=255)
    required_vram_gb: int = Field(ge=1, le=100_000)
    context_length: int = Field(ge=1, le=100_000_000)
    engine_args: dict[str, Any] = {}
    is_active: bool = True


class CatalogFile(_Strict):
    providers: list[ProviderFile] = []
    llm_models: list[LlmModelFile] = []


GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        into = self.created if created else self.updated
        into[kind] = into.get(kind, 0) + 1

    def __str__(self) -> str:
        made = ", ".join(f"{n} {k}" for k, n in sorted(self.created.items())) or "nothing"
        seen = ", ".join(f"{n} {k}" for k, n in sorted(self.updated.items())) or "nothing"
        return f"created {made}; found (and brought up to date) {seen}"


@transactional
async def import_catalog(catalog: CatalogFile) -> ImportSummary:
    summary = ImportSummary()
    for p in catalog.providers:
        provider, created = await gpu_queries.upsert_provider(
            p.name, kind=p.kind, description=p.description
        )
        summary.count("providers", created)
        zones = {}
        for r in p.regions:
            region, created = await gpu_queries.upsert_region(provider, r.name)
            summary.count("regions", created)
            for name in r.zones:
                zones[name], created = await gpu_queries.upsert_zone(region, name)
                summary.count("zones", created)
        for t in p.instance_types:
            instance_type, created = await gpu_queries.upsert_instance_type(
                provider,
                t.name,
                gpu_model=t.gpu_model,
                gpu_count=t.gpu_count,
                vram_per_gpu_gb=t.vram_per_gpu_gb,
                vcpus=t.vcpus,
                memory_gb=t.memory_gb,
                on_demand_price=t.on_demand_price,
                spot_price=t.spot_price,
                node_selector=t.node_selector or {"node.kubernetes.io/instance-type": t.name},
                tolerations=t.tolerations if t.tolerations is not None else [GPU_TAINT],
            )
            summary.count("instance types", created)
            offered = p.availability.get(t.name) or {
                z: [CapacityKind.SPOT, CapacityKind.ON_DEMAND] for z in zones
            }
            for zone_name, kinds in offered.items():
                _, created = await gpu_queries.upsert_availability(
                    instance_type, zones[zone_name], sorted(k.value for k in kinds)
                )
                summary.count("offers", created)
    for m in catalog.llm_models:
        _, created = await gpu_queries.upsert_llm_model(
            m.model_id,
            name=m.name,
            required_vram_gb=m.required_vram_gb,
            context_length=m.context_length,
            engine_args=m.engine_args,
            is_active=m.is_active,
        )
        summary.count("models", created)
    return summary


def model_exists(model_id: str) -> Conflict:
    return Conflict(
        f"the catalog already has model '{model_id}'", code="LLM_MODEL_EXISTS", model_id=model_id
    )


class CatalogService:
    """The catalog through the API: anyone signed in reads it, admins add models."""

    async def providers(self, page: PageRequest) -> Page[Provider]:
        return await gpu_queries.providers(page)

    async def instance_types(
        self, page: PageRequest, provider: str | None = None
    ) -> Page[InstanceType]:
        return await gpu_queries.instance_types(page, provider)

    async def models(self, page: PageRequest) -> Page[LlmModel]:
        return await gpu_queries.llm_models(page)

    @transactional
    async def add_model(self, actor: Actor, spec: LlmModelFile) -> LlmModel:
        require_admin(actor, "add models to the catalog")
        try:
            model = await gpu_queries.create_llm_model(**spec.model_dump())
        except IntegrityError:
            raise model_exists(spec.model_id) from None
        await audit.record(
            actor, "llm_model.create", "llm_model", resource_id=model.id,
            resource_name=model.model_id, after=spec.model_dump(mode="json"),
        )  # fmt: skip
        return model
