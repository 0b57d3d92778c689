"""Discovery in Redis, shared by every API replica and any router that reads it, with the
seed's keys: the set ``catalog:model:{model_id}:instances`` of a model's READY instances, and
the hash ``instance:{instance_id}`` (``ip``, ``port``, ``status``, ``current_load``,
``last_heartbeat``; also ``url``, ``model_id``, ``version`` (the row's ``updated_at``) and
``endpoint``, all of it as one JSON document for lookups).

A write is one script run in Redis: kept only when no newer version is there, the hash and the
set changed together. A lookup is one ``SORT … GET`` round trip. An instance that leaves READY
keeps its hash for ``KEPT_SECONDS`` (so that older news cannot bring it back), then it
expires."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable
from typing import cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from galapagos_core.gpu.discovery import KEPT_SECONDS, DiscoveryUnavailable, Endpoint, least_loaded

_TELL = """
local kept = redis.call('HGET', KEYS[1], 'version')
if kept and tonumber(kept) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'model_id', ARGV[2], 'url', ARGV[3],
  'ip', ARGV[4], 'port', ARGV[5], 'status', ARGV[6], 'current_load', ARGV[7],
  'last_heartbeat', ARGV[8], 'endpoint', ARGV[9])
if ARGV[10] == '1' then
  redis.call('SADD', KEYS[2], ARGV[11])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('SREM', KEYS[2], ARGV[11])
  redis.call('EXPIRE', KEYS[1], ARGV[12])
end
return 1
"""


def model_key(model_id: str) -> str:
    return f"catalog:model:{model_id}:instances"


def instance_key(instance_id: str) -> str:
    return f"instance:{instance_id}"


def _address(url: str) -> tuple[str, int | str]:
    parts = urlsplit(url)
    if not parts.hostname:
        return "", ""
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class RedisStore:
    def __init__(self, url: str, timeout_seconds: float = 1.0) -> None:
        self.redis = aioredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout_seconds
        )
        self._tell = self.redis.register_script(_TELL)

    async def tell(self, endpoints: list[Endpoint]) -> None:
        if not endpoints:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for e in endpoints:
                    ip, port = _address(e.url)
                    fields = [e.model_id, e.url, ip, port, e.status, e.load, e.heartbeat_at]
                    fields.append(json.dumps(dataclasses.asdict(e)))
                    flags = [int(e.ready), e.instance_id, KEPT_SECONDS]
                    await self._tell(
                        keys=[instance_key(e.instance_id), model_key(e.model_id)],
                        args=[e.version, *fields, *flags],
                        client=pipe,
                    )
                await pipe.execute()
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc

    async def ready(self, model_id: str) -> list[Endpoint]:
        try:
            # (redis-py types the asyncio client's answers as its sync client's)
            sorting = self.redis.sort(model_key(model_id), by="nosort", get="instance:*->endpoint")
            documents = await cast("Awaitable[list[str | None]]", sorting)
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc
        found = [Endpoint(**json.loads(d)) for d in documents if d is not None]  # None: expired
        return least_loaded([e for e in found if e.ready])

    async def clear(self) -> None:
        try:
            for pattern in ("instance:*", model_key("*")):
                async for key in self.redis.scan_iter(match=pattern, count=500):
                    await self.redis.delete(key)
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self.redis.aclose()
