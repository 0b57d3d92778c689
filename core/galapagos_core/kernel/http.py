"""Outbound HTTP: one aiohttp session per process, timeouts, retries for idempotent calls,
and errors that keep the status code and the cause."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp


class HttpError(Exception):
    """A call failed: ``status`` is the HTTP status, or None when nothing came back."""

    def __init__(self, method: str, url: str, status: int | None, detail: str) -> None:
        super().__init__(f"{method} {url}: {status or 'no response'} {detail}".strip())
        self.method, self.url, self.status, self.detail = method, url, status, detail

    @property
    def transient(self) -> bool:
        return self.status is None or self.status >= 500 or self.status == 429


class HttpClient:
    def __init__(self, *, timeout: float = 10.0, retries: int = 3, backoff: float = 0.2) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff = backoff
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def json(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a request and decode its JSON answer; retry idempotent calls on transient errors."""
        retry = method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent
        attempts = self._retries + 1 if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, url, **kwargs)
            except HttpError as exc:
                if attempt == attempts or not exc.transient:
                    raise
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    async def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            async with self.session.request(method, url, **kwargs) as response:
                text = await response.text()
                if response.status >= 400:
                    raise HttpError(method, url, response.status, text[:500])
                if not text:
                    return None
                try:
                    return await response.json(content_type=None)
                except ValueError:
                    raise HttpError(method, url, response.status, "answer is not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HttpError(method, url, None, type(exc).__name__) from exc

    async def text(self, url: str) -> str:
        """GET ``url``'s body as text (a metrics page), or HttpError."""
        try:
            async with self.session.get(url) as response:
                body = await response.text()
                if response.status >= 400:
                    raise HttpError("GET", url, response.status, body[:500])
                return body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HttpError("GET", url, None, type(exc).__name__) from exc

    async def probe(self, url: str, *, seconds: float = 5.0) -> tuple[int | None, str]:
        """GET ``url`` once: its status and the start of its body, or (None, why) when
        nothing answered. For health checks: no retries, a short deadline."""
        try:
            limit = aiohttp.ClientTimeout(total=seconds)
            async with self.session.get(url, timeout=limit) as response:
                return response.status, (await response.text())[:500]
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, type(exc).__name__
