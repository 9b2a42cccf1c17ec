"""Optional fault injection for the sandboxes: the failures real deployments meet.

- `error_rate`: that share of requests answer 503; `latency`: each request waits first.
- `fail_from`: every request from the Nth on answers `fail_status` with `fail_body` (a store
  whose plugin was deactivated, whose key was revoked, whose permalinks moved), or, with
  `fail_status=0`, the connection drops before an answer (a server gone away).
- `hold_reply`: a request (from the `hold_from`th on) is applied, then its answer is held that
  many seconds — the window in which a crash loses the answer of a request the remote system
  already carried out.
  `hold_then_drop` drops the connection instead of answering after the hold.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

Scope = dict[str, Any]


@dataclass
class Faults:
    """Mutable on purpose: a test may switch faults on mid-run (from another thread too).

    `only_paths` entries are prefixes; one ending in `$` is an exact path."""

    error_rate: float = 0.0
    latency: float = 0.0
    seed: int = 0
    only_paths: tuple[str, ...] = ()
    only_methods: tuple[str, ...] = ()
    fail_from: int | None = None
    fail_status: int = 503
    fail_body: dict[str, Any] | None = None
    fail_headers: dict[str, str] = field(default_factory=dict)
    hold_reply: float = 0.0
    hold_from: int = 1  # hold from the Nth request this fault set applies to
    hold_then_drop: bool = False
    seen: int = 0  # requests this fault set applied to so far
    holding: int = 0  # requests applied whose answer is being held right now
    applied_held: int = 0  # requests applied and held so far (answered or not)
    _random: random.Random = field(init=False, repr=False)
    _held: threading.Event = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._held = threading.Event()

    def applies(self, scope: Scope) -> bool:
        path, method = scope.get("path", ""), scope.get("method", "")
        if self.only_methods and method not in self.only_methods:
            return False
        return not self.only_paths or any(
            path == p[:-1] if p.endswith("$") else path.startswith(p) for p in self.only_paths
        )

    def should_fail(self) -> bool:
        return self.error_rate > 0 and self._random.random() < self.error_rate

    def wait_until_held(self, timeout: float) -> bool:
        """Block (a test thread) until a request was applied and its answer is being held."""
        return self._held.wait(timeout)

    def clear(self) -> None:
        """Switch every fault off (counters stay); answers being held are let go."""
        self.error_rate = self.latency = self.hold_reply = 0.0
        self.fail_from = None
        self.hold_then_drop = False
        self._held.clear()


class FaultMiddleware:
    """Pure ASGI middleware, so it wraps either sandbox without knowing its routes."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        faults = self.faults
        if scope["type"] != "http" or not faults.applies(scope):
            await self.app(scope, receive, send)
            return
        faults.seen += 1
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.fail_from is not None and faults.seen >= faults.fail_from:
            if faults.fail_status == 0:
                await _drop(send)
            body = faults.fail_body
            if body is None and not 300 <= faults.fail_status < 400:  # a redirect has none
                body = {"code": "UNAVAILABLE", "message": "Injected fault"}
            await _answer(send, faults.fail_status, body, faults.fail_headers)
            return
        if faults.should_fail():
            await _answer(send, 503, {"code": "UNAVAILABLE", "message": "Injected fault"}, {})
            return
        if faults.hold_reply > 0 and faults.seen >= faults.hold_from:
            await self._applied_then_held(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _applied_then_held(self, scope: Scope, receive: Any, send: Any) -> None:
        faults = self.faults
        answer: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any]) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)  # applied now; the answer waits
        faults.holding += 1
        faults.applied_held += 1
        faults._held.set()
        try:
            # Sliced, so clear() (from a test thread) releases a held answer at once.
            deadline = asyncio.get_running_loop().time() + faults.hold_reply
            while faults.hold_reply > 0 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
        finally:
            faults.holding -= 1
        if faults.hold_then_drop:
            await _drop(send)
        for message in answer:
            await send(message)


async def _answer(
    send: Any, status: int, body: dict[str, Any] | None, headers: dict[str, str]
) -> None:
    raw = b"" if body is None else json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _drop(send: Any) -> None:
    """The connection ends before a full answer: uvicorn closes it when the app raises after
    the answer started; httpx's in-process ASGI transport raises the error to the client."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        }
    )
    raise httpx.RemoteProtocolError("Server disconnected without sending a complete response.")
