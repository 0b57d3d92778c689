"""The GPU catalog: providers with their regions and zones, instance types with prices and
where they are offered, and the LLM models GPU instances serve."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from galapagos_app.endpoints import Call, NoBody, Router
from galapagos_app.paging import PageOut, PageQuery, ReadModel, Timestamp, page_out
from galapagos_core.gpu.catalog import LlmModelFile
from galapagos_model.enums import ProviderKind
from galapagos_model.gpu import InstanceType, LlmModel, Provider

router = Router(tag="gpu catalog")


class RegionRead(ReadModel):
    name: str
    zones: list[str]


class ProviderRead(ReadModel):
    id: UUID
    name: str
    kind: ProviderKind
    description: str
    regions: list[RegionRead]


class InstanceTypeRead(ReadModel):
    id: UUID
    provider: str
    name: str
    gpu_model: str
    gpu_count: int
    vram_per_gpu_gb: int
    vcpus: int
    memory_gb: int
    on_demand_price: Decimal | None
    spot_price: Decimal | None
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    availability: dict[str, list[str]]  # zone → capacity kinds


class LlmModelRead(ReadModel):
    id: UUID
    name: str
    model_id: str
    required_vram_gb: int
    context_length: int
    engine_args: dict[str, Any]
    is_active: bool
    created_at: Timestamp


class TypesQuery(PageQuery):
    provider: str | None = Field(None, max_length=50, description="only this provider's")


def provider_read(p: Provider) -> ProviderRead:
    regions = [RegionRead(name=r.name, zones=sorted(z.name for z in r.zones)) for r in p.regions]
    return ProviderRead(
        id=p.id,
        name=p.name,
        kind=p.kind,
        description=p.description,
        regions=sorted(regions, key=lambda r: r.name),
    )


def instance_type_read(t: InstanceType) -> InstanceTypeRead:
    return InstanceTypeRead(
        id=t.id,
        provider=t.provider.name,
        name=t.name,
        gpu_model=t.gpu_model,
        gpu_count=t.gpu_count,
        vram_per_gpu_gb=t.vram_per_gpu_gb,
        vcpus=t.vcpus,
        memory_gb=t.memory_gb,
        on_demand_price=t.on_demand_price,
        spot_price=t.spot_price,
        node_selector=t.node_selector,
        tolerations=t.tolerations,
        availability={
            a.zone.name: a.capacity for a in sorted(t.availability, key=lambda a: a.zone.name)
        },
    )


def llm_model_read(m: LlmModel) -> LlmModelRead:
    return LlmModelRead(
        id=m.id,
        name=m.name,
        model_id=m.model_id,
        required_vram_gb=m.required_vram_gb,
        context_length=m.context_length,
        engine_args=m.engine_args,
        is_active=m.is_active,
        created_at=m.created_at,
    )


@router.get(
    "/api/v1/gpu/providers",
    summary="GPU providers with their regions and zones",
    query=PageQuery,
    response=PageOut[ProviderRead],
)
async def list_providers(call: Call[NoBody, PageQuery]) -> PageOut[ProviderRead]:
    page = await call.services.gpu_catalog.providers(call.query.request())
    return page_out(page, ProviderRead, provider_read)


@router.get(
    "/api/v1/gpu/instance-types",
    summary="Instance types: GPUs, VRAM, hourly prices, node pool, where offered",
    query=TypesQuery,
    response=PageOut[InstanceTypeRead],
)
async def list_instance_types(call: Call[NoBody, TypesQuery]) -> PageOut[InstanceTypeRead]:
    page = await call.services.gpu_catalog.instance_types(call.query.request(), call.query.provider)
    return page_out(page, InstanceTypeRead, instance_type_read)


@router.get(
    "/api/v1/llm-models",
    summary="The LLM models GPU instances serve, with the VRAM they need",
    query=PageQuery,
    response=PageOut[LlmModelRead],
)
async def list_llm_models(call: Call[NoBody, PageQuery]) -> PageOut[LlmModelRead]:
    page = await call.services.gpu_catalog.models(call.query.request())
    return page_out(page, LlmModelRead, llm_model_read)


@router.post(
    "/api/v1/llm-models",
    summary="Add a model to the catalog (admins)",
    body=LlmModelFile,
    response=LlmModelRead,
    status_code=201,
    errors=(403, 409),
)
async def add_llm_model(call: Call[LlmModelFile, NoBody]) -> LlmModelRead:
    return llm_model_read(await call.services.gpu_catalog.add_model(call.actor, call.body))
