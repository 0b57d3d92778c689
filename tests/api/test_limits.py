"""Hostile bodies get clear 4xx answers: deep nesting, oversized bodies (declared or
streamed), unbounded lists and maps, NUL characters, non-JSON media types; 405s say which
methods the path has."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from galapagos_core.kernel.config import Settings
from galapagos_model.catalog import Environment
from galapagos_model.infra import ApiServeInfraConfig
from tests.factories import Factory, bearer

JSON = {"Content-Type": "application/json"}


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_deeply_nested_json_is_a_422_not_a_500(api: httpx.AsyncClient, admin: str) -> None:
    body = "[" * 1000 + "]" * 1000  # 2 KB
    response = await api.post("/api/v1/serve", content=body, headers={**bearer(admin), **JSON})
    assert _code(response) == (422, "INVALID_JSON")
    assert "nested deeper than 32 levels" in response.json()["message"]
    shallow_enough = '{"a":' * 40 + "1" + "}" * 40  # parses, still refused
    response = await api.post(
        "/api/v1/serve", content=shallow_enough, headers={**bearer(admin), **JSON}
    )
    assert _code(response) == (422, "INVALID_JSON")


async def test_bodies_over_the_limit_are_refused_while_read(
    api: httpx.AsyncClient, admin: str, settings: Settings
) -> None:
    limit = settings.api.max_body_bytes
    declared = await api.post(
        "/api/v1/serve", content=b" " * (limit + 1), headers={**bearer(admin), **JSON}
    )
    assert _code(declared) == (413, "BODY_TOO_LARGE")

    sent = 0

    async def stream() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    streamed = await api.post("/api/v1/serve", content=stream(), headers={**bearer(admin), **JSON})
    assert _code(streamed) == (413, "BODY_TOO_LARGE")
    just_under = await api.post(
        "/api/v1/serve",
        content=b'{"name": "iris", "type": "api", "space": "ml"}' + b" " * (limit - 100),
        headers={**bearer(admin), **JSON},
    )
    assert just_under.status_code == 201


async def test_lists_and_free_form_maps_are_bounded(
    api: httpx.AsyncClient, admin: str, factory: Factory
) -> None:
    await factory.serve("iris")
    await factory.environment("prod")
    h = bearer(admin)

    def config(hosts: list[str]) -> dict[str, object]:
        return {
            "api_serve_config": {
                "additional_hosts": hosts,
                "fast_api_config": {"cores": 1, "memory": 1},
            }
        }

    too_many = await api.post(
        "/api/v1/serve/iris/infra-config/prod",
        json=config([f"h{i}.example.com" for i in range(101)]),
        headers=h,
    )
    assert _code(too_many) == (422, "VALIDATION_ERROR")
    assert too_many.json()["error"]["params"]["errors"][0]["loc"][:3] == [
        "body",
        "api_serve_config",
        "additional_hosts",
    ]
    for bad in ("not a host", "-leading.example.com", "a" * 64 + ".com", "x" * 254):
        response = await api.post(
            "/api/v1/serve/iris/infra-config/prod", json=config([bad]), headers=h
        )
        assert response.status_code == 422, bad
    ok = await api.post(
        "/api/v1/serve/iris/infra-config/prod",
        json=config([f"h{i}.example.com" for i in range(100)]),
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    assert len((await ApiServeInfraConfig.get()).additional_hosts) == 100

    many_keys = {f"k{i}": "v" for i in range(40)}
    response = await api.post(
        "/api/v1/environment",
        json={"name": "big", "environment_configs": many_keys},
        headers=h,
    )
    assert response.status_code == 422
    huge_value = {"note": "x" * 9000}
    response = await api.patch(
        "/api/v1/environment/prod", json={"environment_configs": huge_value}, headers=h
    )
    assert response.status_code == 422
    deep = {"a": {"b": {"c": {"d": 1}}}}
    response = await api.patch(
        "/api/v1/environment/prod", json={"environment_configs": deep}, headers=h
    )
    assert response.status_code == 422  # extra keys hold text, numbers, flags or text lists
    assert not await Environment.filter(name="big").exists()
    subnets = {"subnets": [f"subnet-{i}" for i in range(65)]}
    response = await api.patch(
        "/api/v1/environment/prod", json={"environment_configs": subnets}, headers=h
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (
            "/api/v1/artifact",
            {"serve_name": "iris", "version": "v1", "file_path": "app\x00/x"},
            "file_path",
        ),
        (
            "/api/v1/artifact/iris/package",
            {"version": "v1", "source_path": "/tmp/a\x00"},
            "source_path",
        ),
    ],
)
async def test_nul_in_a_path_is_a_422_with_the_field(
    api: httpx.AsyncClient,
    admin: str,
    factory: Factory,
    path: str,
    body: dict[str, str],
    loc: str,
) -> None:
    """Paths reach the file system and child processes: no NUL, no control characters."""
    await factory.serve("iris")
    response = await api.post(path, json=body, headers=bearer(admin))
    assert response.status_code == 422
    assert response.json()["error"]["params"]["errors"][0]["loc"] == ["body", loc]


async def test_json_endpoints_want_json(api: httpx.AsyncClient, admin: str) -> None:
    for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = await api.post(
            "/api/v1/serve",
            content=b'{"name": "iris", "type": "api"}',
            headers={**bearer(admin), "Content-Type": media},
        )
        assert _code(response) == (415, "UNSUPPORTED_MEDIA_TYPE"), media
    for media in ("application/json", "application/json; charset=utf-8", "application/merge+json"):
        response = await api.post(
            "/api/v1/serve",
            content=f'{{"name": "iris-{len(media)}", "type": "api", "space": "ml"}}'.encode(),
            headers={**bearer(admin), "Content-Type": media},
        )
        assert response.status_code == 201, media


async def test_405_lists_every_method_of_the_path(api: httpx.AsyncClient, admin: str) -> None:
    response = await api.put("/api/v1/serve/iris", headers=bearer(admin))
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "PATCH",
        "DELETE",
    }
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    listing = await api.delete("/api/v1/serve", headers=bearer(admin))
    assert set(listing.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
