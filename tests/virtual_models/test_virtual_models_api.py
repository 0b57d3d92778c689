"""Virtual models and their backends through the API: every rule with its code, project roles,
names shared by projects, and API keys that are sealed, bound to their backend and never
echoed (not in answers, the database or the audit trail)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from galapagos_core.kernel.secrets import SecretBox, SecretError
from galapagos_core.virtual_models.service import api_key_context
from galapagos_model.audit import AuditLog
from galapagos_model.enums import ProjectRole
from galapagos_model.queries import gpu as gpu_queries
from galapagos_model.virtual_models import VirtualModelBackend
from tests.factories import Factory, bearer

BASE = "/api/v1/virtual-models"
KEY = "sk-test-4b1d9c0e7f2a"


@pytest.fixture
async def editor(factory: Factory) -> str:
    await factory.serve("chat-llm", project="llm")
    return await factory.member("llm", "ed", ProjectRole.EDITOR)


async def _call(
    api: httpx.AsyncClient, token: str, method: str, path: str, body: Any = None, **params: str
) -> httpx.Response:
    return await api.request(method, path, headers=bearer(token), json=body, params=params)


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def _model(api: httpx.AsyncClient, token: str, name: str = "chat-default") -> None:
    created = await _call(api, token, "POST", BASE, {"name": name, "project": "llm"})
    assert created.status_code == 201, created.text


async def test_a_virtual_model_is_published_read_changed_and_removed(
    api: httpx.AsyncClient, editor: str
) -> None:
    created = await _call(
        api, editor, "POST", BASE, {"name": "chat-default", "project": "llm", "description": "x"}
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["name"], data["project"], data["status"]) == ("chat-default", "llm", "active")
    assert data["route_name"] == "vm-llm-chat-default"
    listed = (await _call(api, editor, "GET", BASE)).json()["data"]
    assert [m["name"] for m in listed["data"]] == ["chat-default"]
    changed = await _call(api, editor, "PATCH", f"{BASE}/chat-default", {"status": "inactive"})
    assert changed.json()["data"]["status"] == "inactive"
    assert changed.json()["data"]["description"] == "x"
    assert (await _call(api, editor, "DELETE", f"{BASE}/chat-default")).status_code == 200
    gone = await _call(api, editor, "GET", f"{BASE}/chat-default")
    assert (gone.status_code, _code(gone)) == (404, "VIRTUAL_MODEL_NOT_FOUND")


@pytest.mark.parametrize("name", ["", "-leading", "has space", "a/b", "x" * 129, "ünïcode"])
async def test_names_that_are_no_model_name_are_refused(
    api: httpx.AsyncClient, editor: str, name: str
) -> None:
    response = await _call(api, editor, "POST", BASE, {"name": name, "project": "llm"})
    assert response.status_code == 422, response.text
    if name:  # the empty name is refused by the schema already
        assert _code(response) == "INVALID_VIRTUAL_MODEL_NAME"


async def test_projects_and_roles_decide_who_sees_and_changes_what(
    api: httpx.AsyncClient, editor: str, factory: Factory
) -> None:
    await _model(api, editor)
    again = await _call(api, editor, "POST", BASE, {"name": "chat-default", "project": "llm"})
    assert (again.status_code, _code(again)) == (409, "VIRTUAL_MODEL_EXISTS")
    nowhere = await _call(api, editor, "POST", BASE, {"name": "m", "project": "nowhere"})
    assert (nowhere.status_code, _code(nowhere)) == (404, "PROJECT_NOT_FOUND")

    viewer = await factory.member("llm", "vi", ProjectRole.VIEWER)
    assert (await _call(api, viewer, "GET", f"{BASE}/chat-default")).status_code == 200
    refused = await _call(api, viewer, "PATCH", f"{BASE}/chat-default", {"description": "y"})
    assert refused.status_code == 403
    stranger = await factory.member("other", "st", ProjectRole.OWNER)
    hidden = await _call(api, stranger, "GET", f"{BASE}/chat-default")
    assert (hidden.status_code, _code(hidden)) == (404, "VIRTUAL_MODEL_NOT_FOUND")
    assert (await _call(api, stranger, "GET", BASE)).json()["data"]["total"] == 0

    # The same name in the stranger's project: each sees its own; an admin must say which.
    theirs = await _call(api, stranger, "POST", BASE, {"name": "chat-default", "project": "other"})
    assert theirs.status_code == 201
    mine = await _call(api, editor, "GET", f"{BASE}/chat-default")
    assert mine.json()["data"]["project"] == "llm"
    admin = await factory.token("boss", admin=True)
    both = await _call(api, admin, "GET", f"{BASE}/chat-default")
    assert (both.status_code, _code(both)) == (409, "VIRTUAL_MODEL_AMBIGUOUS")
    one = await _call(api, admin, "GET", f"{BASE}/chat-default", project="other")
    assert one.json()["data"]["project"] == "other"


async def test_backends_each_rule_with_its_code(api: httpx.AsyncClient, editor: str) -> None:
    await _model(api, editor)
    await gpu_queries.create_llm_model(
        name="Llama 3 8B", model_id="llama-3-8b", required_vram_gb=16, context_length=8192
    )
    path = f"{BASE}/chat-default/backends"
    external = {"kind": "external", "base_url": "https://api.example.com/v1", "api_key": KEY}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**external, "weight": 101}, 422, "INVALID_TRAFFIC_WEIGHT"),
        ({**external, "weight": -1}, 422, "INVALID_TRAFFIC_WEIGHT"),
        ({**external, "priority": -1}, 422, "INVALID_PRIORITY"),
        ({**external, "name": "Not_A_Name"}, 422, "INVALID_BACKEND_NAME"),
        ({"kind": "external"}, 422, "VALIDATION_ERROR"),  # no base_url
        ({"kind": "serve", "serve": "chat-llm", "api_key": KEY}, 422, "VALIDATION_ERROR"),
        ({"kind": "serve", "serve": "nope"}, 404, "SERVE_NOT_FOUND"),
        ({"kind": "model", "model_id": "nope"}, 404, "LLM_MODEL_NOT_FOUND"),
    ]
    for body, status, code in cases:
        response = await _call(api, editor, "POST", path, body)
        assert (response.status_code, _code(response)) == (status, code), body

    first = await _call(api, editor, "POST", path, external)
    assert first.status_code == 201, first.text
    assert first.json()["data"]["name"] == "api-example-com"
    twice = await _call(api, editor, "POST", path, external)
    assert (twice.status_code, _code(twice)) == (409, "BACKEND_ALREADY_EXISTS")
    other_model = await _call(api, editor, "POST", path, {**external, "model_name_override": "gpt"})
    assert other_model.status_code == 201  # the same endpoint, another upstream model
    serve = await _call(
        api, editor, "POST", path, {"kind": "serve", "serve": "chat-llm", "priority": 1}
    )
    assert serve.json()["data"]["serve"] == "chat-llm"
    model = await _call(api, editor, "POST", path, {"kind": "model", "model_id": "llama-3-8b"})
    assert model.json()["data"]["name"] == "llama-3-8b"

    detail = (await _call(api, editor, "GET", f"{BASE}/chat-default")).json()["data"]
    assert [(b["name"], b["priority"]) for b in detail["backends"]] == [
        ("api-example-com", 0),
        ("api-example-com", 0),
        ("llama-3-8b", 0),
        ("chat-llm", 1),
    ]
    backend_id = detail["backends"][0]["id"]
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        response = await _call(api, editor, "PATCH", f"{path}/{missing}", {"weight": 5})
        assert (response.status_code, _code(response)) == (404, "BACKEND_NOT_FOUND")
    bad = await _call(api, editor, "PATCH", f"{path}/{backend_id}", {"priority": -2})
    assert (bad.status_code, _code(bad)) == (422, "INVALID_PRIORITY")
    moved = await _call(api, editor, "PATCH", f"{path}/{backend_id}", {"weight": 70, "priority": 2})
    assert (moved.json()["data"]["weight"], moved.json()["data"]["priority"]) == (70, 2)
    assert (await _call(api, editor, "DELETE", f"{path}/{backend_id}")).status_code == 200
    detail = (await _call(api, editor, "GET", f"{BASE}/chat-default")).json()["data"]
    assert len(detail["backends"]) == 3


async def test_an_api_key_is_sealed_to_its_backend_and_never_shown(
    api: httpx.AsyncClient, editor: str, server: Any
) -> None:
    await _model(api, editor)
    path = f"{BASE}/chat-default/backends"
    body = {"kind": "external", "base_url": "https://api.example.com", "api_key": KEY}
    created = await _call(api, editor, "POST", path, body)
    assert KEY not in created.text
    assert created.json()["data"]["has_api_key"] is True
    backend_id = created.json()["data"]["id"]
    rotated = await _call(api, editor, "PATCH", f"{path}/{backend_id}", {"api_key": "sk-rotated-2"})
    assert "sk-rotated-2" not in rotated.text
    read = await _call(api, editor, "GET", f"{BASE}/chat-default")
    assert KEY not in read.text

    row = await VirtualModelBackend.get(id=backend_id)
    assert row.api_key_encrypted is not None
    assert "sk-" not in row.api_key_encrypted
    box: SecretBox = server[1].state["services"].secrets
    assert box.open(row.api_key_encrypted, api_key_context(row.id)) == "sk-rotated-2"
    with pytest.raises(SecretError, match="does not decrypt"):  # bound to its own backend
        box.open(row.api_key_encrypted, api_key_context(uuid.uuid4()))
    trail = json.dumps([[a.before, a.after] for a in await AuditLog.all()])
    assert "sk-" not in trail
    assert "api_key_rotated" in trail


async def test_concurrent_adds_of_one_backend_make_one(api: httpx.AsyncClient, editor: str) -> None:
    await _model(api, editor)
    path = f"{BASE}/chat-default/backends"
    body = {"kind": "external", "base_url": "https://api.example.com"}
    answers = await asyncio.gather(*(_call(api, editor, "POST", path, body) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert await VirtualModelBackend.all().count() == 1
