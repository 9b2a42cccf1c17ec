"""Optional fault injection for the sandboxes: a 5xx rate and added latency."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import Any

Scope = dict[str, Any]


@dataclass
class Faults:
    """`error_rate` of requests answer 503; each request waits `latency` seconds first.

    Mutable on purpose: a test may switch faults on mid-run.
    """

    error_rate: float = 0.0
    latency: float = 0.0
    seed: int = 0
    only_paths: tuple[str, ...] = ()
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def applies(self, path: str) -> bool:
        return not self.only_paths or any(path.startswith(p) for p in self.only_paths)

    def should_fail(self) -> bool:
        return self.error_rate > 0 and self._random.random() < self.error_rate


class FaultMiddleware:
    """Pure ASGI middleware, so it wraps either sandbox without knowing its routes."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.faults.applies(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if self.faults.latency > 0:
            await asyncio.sleep(self.faults.latency)
        if self.faults.should_fail():
            body = json.dumps({"code": "UNAVAILABLE", "message": "Injected fault"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
