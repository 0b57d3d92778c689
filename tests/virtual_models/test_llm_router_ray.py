"""A virtual model deployed on a real local Ray: the environment's LLM router answers the
official ``openai`` client unchanged (chat, streaming chat, completions, embeddings, model
listing), falls back to the next tier, follows configuration changes without restarting, and
no upstream API key shows in an answer, Ray's logs or the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import openai
import pytest
from tortoise import Tortoise

from galapagos_core.worker import Worker
from galapagos_model.enums import ProjectRole
from tests.deployments.test_deploy_ray import _ok, _ray_apps
from tests.factories import Factory, bearer
from tests.virtual_models.upstream import upstreams

pytestmark = pytest.mark.ray
BASE = "/api/v1/virtual-models"
SECRET = "sk-upstream-7c1e55a9d0b3"


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.3)


async def _replicas(worker: Worker) -> set[str]:
    app = (await _ray_apps(worker))["_llm_router"]
    return {r["replica_id"] for r in app["deployments"]["llm-router"]["replicas"]}


async def _dump_text() -> str:
    """Every row of every table, as text."""
    client = Tortoise.get_connection("default")
    assert Tortoise.apps is not None
    rows = []
    for model in Tortoise.apps["models"].values():
        rows.append(str(await client.execute_query_dict(f"SELECT * FROM {model._meta.db_table}")))
    return "\n".join(rows)


@pytest.mark.timeout(600)
async def test_a_virtual_model_on_ray_answers_the_openai_client(
    api: httpx.AsyncClient, admin: str, running: Worker, factory: Factory, tmp_path: Path
) -> None:
    h = bearer(admin)
    caller = await factory.member("llm", "app-team", ProjectRole.VIEWER)
    await _ok(
        await api.post(
            "/api/v1/environment", headers=h, json={"name": "local", "ray_address": "local"}
        )
    )
    async with upstreams("primary", "spare") as up:
        await _ok(await api.post(BASE, headers=h, json={"name": "chat-default", "project": "llm"}))
        primary = await _ok(
            await api.post(
                f"{BASE}/chat-default/backends",
                headers=h,
                json={
                    "kind": "external",
                    "name": "primary",
                    "base_url": f"{up['primary'].url}/v1",
                    "api_key": SECRET,
                    "model_name_override": "llama-3-8b-instruct",
                    "priority": 0,
                },
            )
        )
        await _ok(
            await api.post(
                f"{BASE}/chat-default/backends",
                headers=h,
                json={
                    "kind": "external",
                    "name": "spare",
                    "base_url": f"{up['spare'].url}/v1",
                    "priority": 1,
                },
            )
        )
        placed = await _ok(
            await api.post(
                f"{BASE}/chat-default/deploy",
                headers=h,
                params={"wait": "true"},
                json={"env": "local"},
            )
        )
        assert placed["state"] == "READY", placed
        endpoint = placed["endpoint"]
        assert endpoint.endswith("/_llm/v1")

        async with openai.AsyncOpenAI(base_url=endpoint, api_key=caller, max_retries=0) as client:
            chat = await client.chat.completions.create(
                model="chat-default", messages=[{"role": "user", "content": "hi"}]
            )
            assert chat.choices[0].message.content == "hello from primary"
            assert up["primary"].received[-1].model == "llama-3-8b-instruct"
            assert up["primary"].received[-1].key == f"Bearer {SECRET}"

            parts = []
            stream = await client.chat.completions.create(
                model="chat-default", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            async for chunk in stream:
                parts.extend(c.delta.content or "" for c in chunk.choices)
            assert "".join(parts) == "hello from primary and goodbye"

            completion = await client.completions.create(model="chat-default", prompt="hi")
            assert completion.choices[0].text == "hello from primary"
            embedding = await client.embeddings.create(model="chat-default", input=["a", "b"])
            assert [len(e.embedding) for e in embedding.data] == [3, 3]
            listed = [m.id async for m in client.models.list()]
            assert listed == ["chat-default"]
            with pytest.raises(openai.NotFoundError) as unknown:
                await client.chat.completions.create(model="nope", messages=[])
            assert unknown.value.code == "model_not_found"

            # A change reaches the running router: no replica restarts.
            replicas = await _replicas(running)

            async def answering(name: str) -> bool:
                answer = await client.chat.completions.create(model="chat-default", messages=[])
                return answer.choices[0].message.content == f"hello from {name}"

            for priority, first in ((2, "spare"), (0, "primary")):
                await _ok(
                    await api.patch(
                        f"{BASE}/chat-default/backends/{primary['id']}",
                        headers=h,
                        json={"priority": priority},
                    )
                )
                await _until(lambda first=first: answering(first))  # type: ignore[misc]
            assert await _replicas(running) == replicas

            # The primary refuses for a minute: the spare answers, the client sees no error, and
            # the routing view shows the primary cooling down.
            up["primary"].mode, up["primary"].retry_after = "429", "60"
            for _ in range(10):
                assert await answering("spare")

            async def primary_cooling() -> bool:
                routing = await _ok(await api.get(f"{BASE}/chat-default/routing", headers=h))
                [deployed] = routing["deployments"]
                assert deployed["cooling_error"] is None, deployed
                return [c["name"] for c in deployed["cooling"]] == ["primary"]

            await _until(primary_cooling, seconds=30)

            # The upstream key shows nowhere: answers, the database, Ray's logs.
            detail = await api.get(f"{BASE}/chat-default", headers=h)
            assert SECRET not in detail.text
            assert SECRET not in await _dump_text()
            logs = running.backends.local_ray.session_dir / "session_latest" / "logs"
            for log in logs.rglob("*"):
                if log.is_file():
                    assert SECRET not in log.read_text(errors="replace"), log

            await _ok(
                await api.post(f"{BASE}/chat-default/undeploy", headers=h, json={"env": "local"})
            )

            async def router_gone() -> bool:
                return "_llm_router" not in await _ray_apps(running)

            await _until(router_gone)
