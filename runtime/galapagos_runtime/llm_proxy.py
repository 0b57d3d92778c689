"""The OpenAI-compatible side of the LLM router: one environment's virtual models, each a name
that clients call and backends that answer it (:mod:`galapagos_runtime.llm_routing` orders
them and keeps their cooldowns).

``POST /v1/chat/completions``, ``/v1/completions`` and ``/v1/embeddings`` go to the virtual
model the body names; ``GET /v1/models`` lists those the caller's key may use. A request tries
its backends in order: a connection error, a timeout, a 429 or a 5xx before the first byte
moves it to the next one, within one deadline for all of them; the first byte passed on, the
answer is the client's, and an upstream that breaks a stream off ends it with an error event.
Streams are passed on chunk by chunk as they come. Errors have OpenAI's shape.

Callers present a Galápagos API token as their bearer key: the configuration holds the
SHA-256 of each token allowed and the projects it may call. Prompts and completions are
never logged; upstream API keys are sent to their backend only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from galapagos_runtime.llm_routing import Backend, CooldownPolicy, Cooldowns, Plan, attempts

log = logging.getLogger("galapagos.llm")
ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
BACKEND_HEADER = "x-galapagos-backend"


class Meter(Protocol):
    """Where the router's figures go (Ray's metrics in a replica)."""

    def attempt(self, model: str, backend: Backend, code: str, ttfb_ms: float | None) -> None:
        """One attempt's outcome: status class (``2xx``…) or ``error``; time to first byte."""

    def fallback(self, model: str, backend: Backend) -> None:
        """``backend`` failed and the request moved on."""

    def tokens(self, model: str, backend: Backend, prompt: int, completion: int) -> None: ...

    def cooling(self, backend: Backend, until: float) -> None:
        """``backend`` cools down until ``until`` (seconds since the epoch)."""


@dataclass(frozen=True)
class Model:
    name: str
    project: str
    created: int
    plan: Plan


@dataclass(frozen=True)
class Grant:
    """What one key may call: its projects (None: every project), until when (epoch)."""

    projects: frozenset[str] | None
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def allows(self, project: str, now: float) -> bool:
        return not self.expired(now) and (self.projects is None or project in self.projects)


@dataclass(frozen=True)
class ProxyConfig:
    """The router's ``user_config``, parsed."""

    models: dict[str, Model] = field(default_factory=dict)
    keys: dict[str, Grant] = field(default_factory=dict)
    timeout: float = 30.0  # one attempt, until its first byte
    deadline: float = 60.0  # every attempt of one request, until the first byte
    cooldown: CooldownPolicy = field(default_factory=CooldownPolicy)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProxyConfig:
        models = {
            m["name"]: Model(
                m["name"],
                m["project"],
                int(m.get("created", 0)),
                Plan.of(Backend(**b) for b in m["backends"]),
            )
            for m in config.get("models", [])
        }
        keys = {
            digest: Grant(
                None if g.get("projects") is None else frozenset(g["projects"]),
                g.get("expires_at"),
            )
            for digest, g in config.get("keys", {}).items()
        }
        policy = config.get("cooldown", {})
        return cls(
            models,
            keys,
            float(config.get("timeout_seconds", 30.0)),
            float(config.get("deadline_seconds", 60.0)),
            CooldownPolicy(
                int(policy.get("allowed_fails", 3)),
                float(policy.get("window_seconds", 60.0)),
                float(policy.get("cooldown_seconds", 5.0)),
            ),
        )


def key_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def error(status: int, message: str, code: str, param: str | None = None) -> Response:
    """An error as OpenAI's API answers it (``server_error`` for 5xx, else the caller's)."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _usage(payload: bytes) -> tuple[int, int] | None:
    """Prompt and completion tokens from a JSON body or SSE chunks that report ``usage`` (the
    last report wins; streams send ``"usage": null`` until the end)."""
    if b'"usage"' not in payload:
        return None
    found = None
    for line in payload.splitlines():
        text = line.removeprefix(b"data:").strip()
        if b'"usage"' not in text:
            continue
        try:
            usage = json.loads(text).get("usage")
        except (ValueError, AttributeError):
            continue
        if isinstance(usage, dict):
            found = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return found


class _Failed(Exception):
    """An attempt that failed before its first byte: the next backend is tried."""

    def __init__(
        self,
        backend: Backend,
        reason: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.backend = backend
        self.status = status
        self.retry_after = retry_after


class LlmProxy:
    """One router replica's state: its configuration, cooldowns and upstream connections."""

    def __init__(self, meter: Meter, draw: Callable[[], float] = random.random) -> None:
        self.meter = meter
        self.draw = draw  # the weighted choices' random numbers in [0, 1)
        self.config = ProxyConfig()
        self.cooldowns = Cooldowns(self.config.cooldown)
        self._session: aiohttp.ClientSession | None = None

    def reconfigure(self, config: Mapping[str, Any]) -> None:
        """A new configuration; cooldowns of backends still named carry on."""
        self.config = ProxyConfig.from_config(config)
        self.cooldowns.policy = self.config.cooldown

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            # Answers come decompressed (an upstream may gzip what it sends): the client gets
            # them as plain bytes, as their headers (no Content-Encoding passed on) say.
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _grant(self, request: Request) -> Grant | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        grant = self.config.keys.get(key_digest(token.strip()))
        return None if grant is None or grant.expired(time.time()) else grant

    async def handle(self, request: Request) -> Response:
        path = request.scope["path"]
        root = request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        grant = self._grant(request)
        if grant is None:
            message = "a valid Galápagos API token is needed as the bearer key"
            return error(401, message, "invalid_api_key")
        if request.method == "GET" and path == "/v1/models":
            return self._models(grant)
        if request.method != "POST" or path not in ENDPOINTS:
            return error(404, f"no route {request.method} {path}", "not_found")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "the body is not JSON", "invalid_json")
        name = body.get("model") if isinstance(body, dict) else None
        if not isinstance(name, str):
            return error(400, "'model' is required", "missing_model", "model")
        model = self.config.models.get(name)
        if model is None or not grant.allows(model.project, time.time()):
            message = f"The model `{name}` does not exist or you do not have access to it."
            return error(404, message, "model_not_found", "model")
        return await self._forward(model, path, body, bool(body.get("stream")))

    def _models(self, grant: Grant) -> Response:
        now = time.time()
        data = [
            {"id": m.name, "object": "model", "created": m.created, "owned_by": m.project}
            for m in self.config.models.values()
            if grant.allows(m.project, now)
        ]
        return JSONResponse({"object": "list", "data": data})

    async def _forward(
        self, model: Model, path: str, body: dict[str, Any], stream: bool
    ) -> Response:
        deadline = time.monotonic() + self.config.deadline
        failures: list[_Failed] = []
        if not model.plan.backends:
            return error(503, f"`{model.name}` has no backend", "no_backend")
        for backend in attempts(model.plan, self.cooldowns, time.time(), self.draw):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            limit = min(remaining, self.config.timeout)
            started = time.monotonic()
            try:
                async with asyncio.timeout(limit):
                    upstream, first = await self._open(backend, path, body, stream)
            except TimeoutError:
                failures.append(_Failed(backend, f"no answer within {limit:.3g}s"))
            except _Failed as failed:
                failures.append(failed)
            else:
                ttfb = (time.monotonic() - started) * 1000
                self.cooldowns.succeeded(backend.id)
                self.meter.attempt(model.name, backend, f"{upstream.status // 100}xx", ttfb)
                return self._answer(model, backend, upstream, first, stream)
            self._failed(model, failures[-1])
        detail = "; ".join(f"{f.backend.name or f.backend.id}: {f}" for f in failures)
        message = f"no backend of `{model.name}` answered: {detail or 'no time was left'}"
        if failures and all(f.status == 429 for f in failures):
            return error(429, message, "rate_limit_exceeded")
        if time.monotonic() >= deadline:
            return error(504, message, "upstream_timeout")
        return error(502, message, "upstream_unavailable")

    def _failed(self, model: Model, failed: _Failed) -> None:
        """An attempt failed before its first byte: it counts towards a cooldown."""
        backend, now = failed.backend, time.time()
        self.cooldowns.failed(backend.id, now, failed.retry_after)
        until = self.cooldowns.cooling_until(backend.id, now)
        if until is not None:
            self.meter.cooling(backend, until)
        code = f"{failed.status // 100}xx" if failed.status else "error"
        self.meter.attempt(model.name, backend, code, None)
        self.meter.fallback(model.name, backend)
        log.info("llm %s: backend %s failed: %s", model.name, backend.name, failed)

    async def _open(
        self, backend: Backend, path: str, body: dict[str, Any], stream: bool
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """The upstream's answer and its first bytes (the whole body unless streamed), or
        :class:`_Failed` (the caller's timeout cancels it the same way)."""
        headers = {"Content-Type": "application/json"}
        if backend.api_key:
            headers["Authorization"] = f"Bearer {backend.api_key}"
        data = json.dumps({**body, "model": backend.model})
        url = f"{backend.url.rstrip('/')}{path.removeprefix('/v1')}"
        try:
            upstream = await self.session().post(url, data=data, headers=headers)
        except aiohttp.ClientError as exc:
            raise _Failed(backend, f"{type(exc).__name__}: {exc}") from exc
        try:
            if upstream.status == 429 or upstream.status >= 500:
                retry_after = _retry_after(upstream.headers.get("Retry-After"))
                raise _Failed(backend, f"answered {upstream.status}", upstream.status, retry_after)
            if stream and upstream.status == 200:
                first = await upstream.content.readany()
            else:
                first = await upstream.read()
        except aiohttp.ClientError as exc:
            upstream.release()
            raise _Failed(backend, f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            upstream.release()
            raise
        return upstream, first

    def _answer(
        self,
        model: Model,
        backend: Backend,
        upstream: aiohttp.ClientResponse,
        first: bytes,
        stream: bool,
    ) -> Response:
        headers = {BACKEND_HEADER: backend.name or backend.id}
        media_type = upstream.headers.get("Content-Type", "application/json")
        if not (stream and upstream.status == 200):
            usage = _usage(first)
            if usage is not None:
                self.meter.tokens(model.name, backend, *usage)
            return Response(first, upstream.status, headers, media_type)
        relay = self._relay(model, backend, upstream, first)
        return StreamingResponse(relay, upstream.status, headers, media_type)

    async def _relay(
        self, model: Model, backend: Backend, upstream: aiohttp.ClientResponse, first: bytes
    ) -> AsyncIterator[bytes]:
        """The stream as it comes. Once the first chunk is out the answer is the client's: an
        upstream that breaks off ends it with an error event (OpenAI's shape)."""
        usage = _usage(first)
        try:
            yield first
            async for chunk in upstream.content.iter_any():
                usage = _usage(chunk) or usage
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("llm %s: backend %s broke its stream off: %s", model.name, backend.name, exc)
            event = {
                "error": {
                    "message": f"the backend broke the stream off: {type(exc).__name__}",
                    "type": "server_error",
                    "param": None,
                    "code": "upstream_stream_error",
                }
            }
            yield f"data: {json.dumps(event)}\n\n".encode()
        finally:
            upstream.release()
            if usage is not None:
                self.meter.tokens(model.name, backend, *usage)
