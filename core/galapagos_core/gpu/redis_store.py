"""Discovery in Redis, shared by every API replica and any router that reads it, with the
seed's keys: the set ``catalog:model:{model_id}:instances`` of a model's READY instances, and
the hash ``instance:{instance_id}`` (``ip``, ``port``, ``status``, ``current_load``,
``last_heartbeat``; also ``url``, ``model_id`` and ``version``, the row's ``updated_at``).

A write is one script run in Redis: kept only when no newer version is there, the hash and the
set changed together. A lookup is one ``SORT … GET`` round trip. An instance that leaves READY
keeps its hash a day (so that older news cannot bring it back), then it expires."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from galapagos_core.gpu.discovery import DiscoveryUnavailable, Endpoint, least_loaded

_KEPT_SECONDS = 86_400
_FIELDS = ("url", "current_load", "last_heartbeat", "version", "status", "model_id")
_TELL = """
local kept = redis.call('HGET', KEYS[1], 'version')
if kept and tonumber(kept) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'model_id', ARGV[2], 'url', ARGV[3],
  'ip', ARGV[4], 'port', ARGV[5], 'status', ARGV[6], 'current_load', ARGV[7],
  'last_heartbeat', ARGV[8])
if ARGV[9] == '1' then
  redis.call('SADD', KEYS[2], ARGV[10])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('SREM', KEYS[2], ARGV[10])
  redis.call('EXPIRE', KEYS[1], ARGV[11])
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
                    hash_fields = [e.model_id, e.url, ip, port, e.status, e.load, e.heartbeat_at]
                    await self._tell(
                        keys=[instance_key(e.instance_id), model_key(e.model_id)],
                        args=[e.version, *hash_fields, int(e.ready), e.instance_id, _KEPT_SECONDS],
                        client=pipe,
                    )
                await pipe.execute()
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc

    async def ready(self, model_id: str) -> list[Endpoint]:
        gets: list[str] = ["#", *(f"instance:*->{f}" for f in _FIELDS)]
        try:
            # (redis-py types the asyncio client's answers as its sync client's)
            sorting = self.redis.sort(model_key(model_id), by="nosort", get=gets)
            flat = await cast("Awaitable[list[Any]]", sorting)
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc
        width = len(gets)
        found = []
        for i in range(0, len(flat), width):
            instance_id, url, load, beat, version, status, model = flat[i : i + width]
            if url is None:  # its hash expired under it
                continue
            endpoint = Endpoint(
                instance_id, model, url, float(load), float(beat), int(version), status
            )
            if endpoint.ready:
                found.append(endpoint)
        return least_loaded(found)

    async def clear(self) -> None:
        try:
            for pattern in ("instance:*", model_key("*")):
                async for key in self.redis.scan_iter(match=pattern, count=500):
                    await self.redis.delete(key)
        except RedisError as exc:
            raise DiscoveryUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self.redis.aclose()
