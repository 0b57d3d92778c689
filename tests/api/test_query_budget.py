"""List endpoints run a constant number of SQL statements, whatever the page size."""

from __future__ import annotations

import httpx

from galapagos_model.enums import ProjectRole
from galapagos_model.identity import User
from tests.conftest import QueryCounter
from tests.factories import Factory, bearer


async def _queries_for(
    api: httpx.AsyncClient, counter: QueryCounter, path: str, token: str
) -> tuple[int, dict[str, object]]:
    for _ in range(2):  # the first use records last_used_at, the second is remembered
        await api.get("/api/v1/users/me", headers=bearer(token))
    counter.queries.clear()
    response = await api.get(path, headers=bearer(token))
    assert response.status_code == 200, response.text
    return len(counter.queries), response.json()["data"]


async def test_deployment_history_queries_are_constant(
    api: httpx.AsyncClient, factory: Factory, count_queries: QueryCounter
) -> None:
    token = await factory.member("ml", "ann", ProjectRole.VIEWER)
    author = await User.get(username="ann")
    environment = await factory.environment("prod")
    one, many = await factory.serve("one"), await factory.serve("many")
    await factory.deployments(one, environment, 1, author=author)
    await factory.deployments(many, environment, 100, author=author)

    small, page_one = await _queries_for(
        api, count_queries, "/api/v1/serve/one/deployments?limit=100", token
    )
    large, page_many = await _queries_for(
        api, count_queries, "/api/v1/serve/many/deployments?limit=100", token
    )
    assert (page_one["total"], page_many["total"]) == (1, 100)
    assert len(page_many["data"]) == 100  # type: ignore[arg-type]
    row = page_many["data"][0]  # type: ignore[index]
    assert row["artifact_version"] == "v99"
    assert row["env"] == "prod"
    assert row["created_by"] == "ann"
    assert row["created_at"].endswith("Z")
    # The serve with the caller's role and the deployment counter, then the page; the token
    # was checked by the request before.
    assert small == large == 2


async def test_serve_listing_queries_are_constant(
    api: httpx.AsyncClient, factory: Factory, count_queries: QueryCounter
) -> None:
    token = await factory.member("ml", "ann", ProjectRole.VIEWER)
    await factory.serve("only")
    small, page = await _queries_for(api, count_queries, "/api/v1/serve?limit=100", token)
    assert page["total"] == 1
    for i in range(99):
        await factory.serve(f"s{i}")
    large, page = await _queries_for(api, count_queries, "/api/v1/serve?limit=100", token)
    assert page["total"] == 100
    assert len(page["data"]) == 100
    assert small == large == 2  # the count and the page
