"""Mirakl Connect allows each product operation about once per interval: this keeps to it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from connector.store import Store

Sleep = Callable[[float], Awaitable[None]]


def guard_for(interval: float) -> float:
    """Slack per call so the jitter between our send and the server's arrival clock never costs
    a 429: 1 % of the interval, at least 10 ms (event-loop jitter), at most 0.5 s."""
    if interval <= 0:
        return 0.0
    return min(max(interval * 0.01, 0.01), 0.5)


class Pacer:
    """Hands out call slots per operation; the last slot lives in the database, so the limit
    holds across processes (`connect` then `sync` in a new process still waits)."""

    def __init__(self, store: Store, interval: float, sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.interval = interval
        self._sleep = sleep

    def next_wait(self, operation: str) -> float:
        """Seconds until the operation may be called again, without claiming the slot."""
        import time

        last = self.store.last_call(operation)
        if last is None:
            return 0.0
        return max(0.0, last + self.interval + guard_for(self.interval) - time.time())

    async def slot(self, operation: str) -> None:
        """Wait for, and claim, the next slot of `operation`. A first call waits for nothing."""
        wait = self.store.reserve_call(operation, self.interval, guard_for(self.interval))
        if wait > 0:
            await self._sleep(wait)

    def mark_sent(self, operation: str) -> None:
        """The request leaves now: measure the next slot from here, not from the reservation
        (a late wake-up would otherwise shrink the gap the server sees)."""
        import time

        with self.store.transaction() as db:
            db.execute(
                "UPDATE pacing SET last_call = MAX(last_call, ?) WHERE operation = ?",
                (time.time(), operation),
            )

    async def after_retry_after(self, operation: str, seconds: float) -> None:
        """The server said wait: push this operation's next slot past that point."""
        import time

        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO pacing (operation, last_call) VALUES (?, ?)",
                (operation, time.time() + seconds - self.interval),
            )
