"""The routing decision of a serve's traffic router: which variant answers a request, and which
variants get a copy of it. Pure and deterministic given its inputs, so every router replica
decides the same for the same sticky key, with no shared state.

Order of rules:

1. header matches, in the variants' order: the first variant all of whose headers the request
   carries with the same values answers it;
2. the sticky key (a header or cookie named by the config), when the request has one: its hash
   picks a point on the weights, the same point for the same key on every replica;
3. otherwise a random point on the weights.

Weights are percentages. Weight not given to any variant stays with the default variant (the
stable one). Shadow variants answer no client: their weight is the share of requests copied to
them, and they are not part of the 100.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_SCALE = 10_000  # a point on the weights: 0 <= point < 100 * _SCALE


@dataclass(frozen=True)
class Variant:
    name: str
    app: str  # the Ray Serve application that runs it
    weight: int = 0
    header_match: tuple[tuple[str, str], ...] = ()  # lower-case header names
    shadow: bool = False


@dataclass(frozen=True)
class RoutingTable:
    variants: tuple[Variant, ...]
    default: str  # the variant that keeps weight nobody was given
    sticky_header: str | None = None  # lower-case
    sticky_cookie: str | None = None
    _bounds: tuple[int, ...] = field(init=False, repr=False)
    _owners: tuple[Variant, ...] = field(init=False, repr=False)
    _matchers: tuple[Variant, ...] = field(init=False, repr=False)
    _shadows: tuple[Variant, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        primaries = [v for v in self.variants if not v.shadow]
        by_name = {v.name: v for v in primaries}
        if self.default not in by_name:
            raise ValueError(f"the default variant '{self.default}' is not a primary variant")
        bounds: list[int] = []
        owners: list[Variant] = []
        total = 0
        for variant in primaries:
            if variant.weight > 0:
                total += variant.weight * _SCALE
                bounds.append(total)
                owners.append(variant)
        if total > 100 * _SCALE:
            raise ValueError("the weights of the primary variants add up to more than 100")
        if total < 100 * _SCALE:
            bounds.append(100 * _SCALE)
            owners.append(by_name[self.default])
        object.__setattr__(self, "_bounds", tuple(bounds))
        object.__setattr__(self, "_owners", tuple(owners))
        object.__setattr__(self, "_matchers", tuple(v for v in primaries if v.header_match))
        object.__setattr__(self, "_shadows", tuple(v for v in self.variants if v.shadow))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RoutingTable:
        """The table a router's config describes: ``{"default": name, "sticky": {"header":
        h} | {"cookie": c} | None, "variants": [{"name", "app", "weight", "header_match":
        {h: v}, "shadow"}]}``."""
        sticky = config.get("sticky") or {}
        return cls(
            variants=tuple(
                Variant(
                    name=v["name"],
                    app=v["app"],
                    weight=int(v.get("weight", 0)),
                    header_match=tuple(
                        sorted(
                            (k.lower(), str(val))
                            for k, val in (v.get("header_match") or {}).items()
                        )
                    ),
                    shadow=bool(v.get("shadow", False)),
                )
                for v in config["variants"]
            ),
            default=config["default"],
            sticky_header=sticky["header"].lower() if sticky.get("header") else None,
            sticky_cookie=sticky.get("cookie"),
        )

    def sticky_key(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
        if self.sticky_header is not None:
            return headers.get(self.sticky_header)
        if self.sticky_cookie is not None:
            return cookies.get(self.sticky_cookie)
        return None

    def choose(
        self,
        headers: Mapping[str, str],
        cookies: Mapping[str, str] | None = None,
        draw: Callable[[], float] = random.random,
    ) -> Variant:
        """The variant that answers a request with ``headers`` (lower-case names)."""
        for variant in self._matchers:
            for name, value in variant.header_match:
                if headers.get(name) != value:
                    break
            else:
                return variant
        key = self.sticky_key(headers, cookies or {})
        point = sticky_point(key) if key is not None else int(draw() * 100 * _SCALE)
        return self._owners[bisect.bisect_right(self._bounds, point)]

    def copies(self, draw: Callable[[], float] = random.random) -> tuple[Variant, ...]:
        """The shadow variants that get a copy of this request."""
        return tuple(v for v in self._shadows if draw() * 100 < v.weight)


def sticky_point(key: str) -> int:
    """A point on the weights for ``key``: the same on every replica and every run."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (100 * _SCALE)
