"""PHP-FPM in miniature: a pool of worker processes in which each request of the sandbox store
burns CPU time, so that a store spends CPU per request as a real WordPress does (bootstrap,
queries, rendering), not only waits.

A request holds one worker from its start to its answer; with every worker busy, the next
requests queue, as PHP-FPM's `pm.max_children` makes them. The workers are processes (spawned,
not forked: the sandbox runs server threads), so their CPU is spent outside the sandbox's
process and its GIL, on the machine's cores, as PHP's is.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor


def burn(seconds: float) -> float:
    """Keep one core busy for `seconds` of this thread's CPU time; the CPU time spent."""
    start = time.thread_time()
    end = start + seconds
    while time.thread_time() < end:
        pass
    return time.thread_time() - start


class PhpWorkers:
    """`workers` processes; `run(seconds)` burns that much CPU in one of them, queueing when
    all are busy. `cpu_seconds` adds up the CPU time they spent."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers is at least 1")
        self.workers = workers
        self.cpu_seconds = 0.0
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn every worker now, so the first requests do not pay for it."""
        if self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )
        # Submitted together, each call starts a worker of its own (the pool grows while
        # none is idle); wait for all of them.
        for future in [self._pool.submit(time.sleep, 0.05) for _ in range(self.workers)]:
            future.result()

    async def run(self, seconds: float) -> float:
        self.start()
        assert self._pool is not None
        spent = await asyncio.get_running_loop().run_in_executor(self._pool, burn, seconds)
        self.cpu_seconds += spent
        return spent

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
