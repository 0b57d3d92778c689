"""The GPU catalog: the shipped sample imports, again without duplicating anything, and reads
back through the API; admins add models; a file naming what it does not define is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import ValidationError

from galapagos_app.cli import main
from galapagos_core.gpu.catalog import CatalogFile, import_catalog
from galapagos_model.enums import ProjectRole
from galapagos_model.gpu import InstanceAvailability, InstanceType, LlmModel
from tests.factories import Factory, bearer

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "catalog" / "gpu-catalog.yaml"


def sample(path: Path = SAMPLE) -> CatalogFile:
    """A catalog shipped in ``resources/catalog`` (the EC2 sample by default)."""
    return CatalogFile.model_validate(yaml.safe_load(path.read_text()))


async def test_the_sample_imports_once_and_reads_back(api: httpx.AsyncClient, admin: str) -> None:
    first = await import_catalog(sample())
    assert first.created == {
        "instance types": 13, "models": 5, "offers": 36, "providers": 1, "regions": 1, "zones": 3,
    }  # fmt: skip
    again = await import_catalog(sample())
    assert again.created == {}
    assert (await InstanceType.all().count(), await LlmModel.all().count()) == (13, 5)
    assert await InstanceAvailability.all().count() == 36

    h = bearer(admin)
    providers = (await api.get("/api/v1/gpu/providers", headers=h)).json()["data"]["data"]
    assert [(p["name"], p["kind"], p["regions"]) for p in providers] == [
        (
            "aws-eks",
            "kubernetes",
            [{"name": "us-east-1", "zones": ["us-east-1a", "us-east-1b", "us-east-1c"]}],
        )
    ]
    listed = await api.get("/api/v1/gpu/instance-types", headers=h, params={"limit": 100})
    types = {t["name"]: t for t in listed.json()["data"]["data"]}
    assert len(types) == 13
    h100 = types["p5.48xlarge"]
    assert (h100["gpu_model"], h100["gpu_count"], h100["vram_per_gpu_gb"]) == ("H100", 8, 80)
    assert h100["availability"] == {
        "us-east-1a": ["on_demand", "spot"],
        "us-east-1c": ["on_demand"],
    }
    assert h100["node_selector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge"}
    assert h100["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert types["p4de.24xlarge"]["spot_price"] is None
    models = (await api.get("/api/v1/llm-models", headers=h)).json()["data"]
    assert models["total"] == 5


async def test_admins_add_models(api: httpx.AsyncClient, admin: str, factory: Factory) -> None:
    body = {
        "name": "Phi 3 mini",
        "model_id": "microsoft/Phi-3-mini-4k-instruct",
        "required_vram_gb": 8,
        "context_length": 4096,
    }
    member = await factory.member("team", "someone", ProjectRole.OWNER)
    refused = await api.post("/api/v1/llm-models", headers=bearer(member), json=body)
    assert refused.status_code == 403
    added = await api.post("/api/v1/llm-models", headers=bearer(admin), json=body)
    assert added.status_code == 201, added.text
    assert added.json()["data"]["model_id"] == "microsoft/Phi-3-mini-4k-instruct"
    twice = await api.post("/api/v1/llm-models", headers=bearer(admin), json=body)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "LLM_MODEL_EXISTS")
    invalid = await api.post(
        "/api/v1/llm-models", headers=bearer(admin), json={**body, "required_vram_gb": 0}
    )
    assert invalid.status_code == 422


def test_a_file_naming_an_unknown_zone_or_type_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(SAMPLE.read_text())
    data["providers"][0]["availability"]["g5.xlarge"] = {"eu-west-1a": ["spot"]}
    with pytest.raises(ValidationError, match="names 'eu-west-1a', not a zone here"):
        CatalogFile.model_validate(data)
    broken = tmp_path / "catalog.yaml"
    broken.write_text(yaml.safe_dump(data))
    assert main(["catalog", "import", str(broken)]) == 2  # refused before touching a database
