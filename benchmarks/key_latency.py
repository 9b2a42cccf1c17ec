"""Key-to-frame latency while a sync runs: the app (under Textual's Pilot, 80×24) on a data
folder connected to loopback sandboxes; "s" starts a sync of a large catalog, then "p" and "o"
(Product Settings ⇄ Overview) are pressed N times while it runs. For each press: the time
from the key entering the app to the first frame that shows the screen the key asked for.

How the two ends are observed, without changing the app:

- the press comes from another thread, at a random moment (10–60 ms after the previous
  frame), through the driver's `send_message`, the path a terminal's input thread takes:
  a key that lands while the event loop is busy waits, as it would for a user;
- a frame is a call of `App._display` by the screen's compositor (wrapped on this app
  instance); the wrapper also renders the update to the escape sequences a terminal would
  get (`render_segments`), the work the headless driver skips. The press is done at the first
  frame whose screen is the target screen.

It also samples the event loop's lag (a 5 ms sleeper) to show how long the loop is blocked.

The sandboxes run in a process of their own (`mirakl-woo sandbox`), so their CPU is not the
app's. `--profile FILE` writes a cProfile of the app process during the presses.

    .venv/bin/python benchmarks/key_latency.py [--products 20000] [--interval 1]
        [--presses 200] [--quiet-seconds 3] [--quick] [--no-sync] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import SandboxProcess, connected_engine, emit, note, temp_home

from tui.app import MiraklWooApp
from tui.screens.overview import OverviewScreen
from tui.screens.product_settings import ProductSettingsScreen

SIZE = (80, 24)
KEYS: dict[type, tuple[str, type]] = {
    # on this screen: press this key, expect that screen
    OverviewScreen: ("p", ProductSettingsScreen),
    ProductSettingsScreen: ("o", OverviewScreen),
}


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 values is the 198th)."""
    ranked = sorted(values)
    index = max(0, min(len(ranked) - 1, -(-len(ranked) * pct // 100) - 1))
    return ranked[int(index)]


class FrameClock:
    """Wraps `app._display`: renders each update as a terminal driver would and wakes the
    waiter at the first frame that shows the expected screen."""

    def __init__(self, app: MiraklWooApp) -> None:
        self.app = app
        self.frames = 0
        self.render_seconds = 0.0
        self.expected: type | None = None
        self.seen_at = 0.0
        self.event = asyncio.Event()
        original: Callable[[Any, Any], None] = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            started = time.perf_counter()
            render = getattr(renderable, "render_segments", None)
            if render is not None:
                render(app.console)
            now = time.perf_counter()
            self.render_seconds += now - started
            self.frames += 1
            if (
                self.expected is not None
                and screen is app.screen
                and isinstance(screen, self.expected)
            ):
                self.expected = None
                self.seen_at = now
                self.event.set()

        app._display = display  # type: ignore[method-assign]

    def expect(self, screen_class: type) -> None:
        self.event.clear()
        self.expected = screen_class


class GcClock:
    """Pauses of Python's cyclic garbage collector (they stop the loop too)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0
        self.active = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.active:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def summary(self) -> dict[str, Any]:
        def of(gen: int) -> dict[str, float | int]:
            times = [t for g, t in self.pauses if g == gen]
            return {"count": len(times), "max_ms": round(max(times, default=0) * 1000, 1),
                    "total_ms": round(sum(times) * 1000, 1)}

        return {f"gen{gen}": of(gen) for gen in (0, 1, 2)}


class LagSampler:
    """How late a 5 ms sleep wakes up: how long the loop was busy with something else."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lags.append(time.perf_counter() - before - 0.005)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def press_from_thread(app: MiraklWooApp, key: str, delay: float) -> float:
    """Like a terminal's input thread: wait, then post the key into the app's loop."""
    from textual import events

    time.sleep(delay)
    event = events.Key(key, key)
    event.set_sender(app)
    sent = time.perf_counter()
    assert app._driver is not None
    app._driver.send_message(event)
    return sent


def lag_summary(lags: list[float]) -> dict[str, float | int]:
    return {
        "p50": round(percentile(lags, 50) * 1000, 1),
        "p99": round(percentile(lags, 99) * 1000, 1),
        "max": round(max(lags) * 1000, 1),
        "samples": len(lags),
    }


async def measure(app: MiraklWooApp, presses: int, *, sync: bool, quiet_seconds: float,
                  profile: cProfile.Profile | None, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    clock = FrameClock(app)
    collector = GcClock()
    gc.callbacks.append(collector)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keys")
    loop = asyncio.get_running_loop()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if not isinstance(app.screen, OverviewScreen):
            raise RuntimeError(f"the app opened on {type(app.screen).__name__}, not Overview")
        if sync:
            await pilot.press("s")
            deadline = time.perf_counter() + 10
            while not app.sync_running and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            if not app.sync_running:
                raise RuntimeError("the sync did not start")
        sync_started = time.perf_counter()
        # The loop's lag with no key pressed: what the sync alone costs the loop.
        quiet = LagSampler()
        quiet.start()
        await asyncio.sleep(quiet_seconds)
        quiet.stop()
        note(f"sync running: {app.sync_running}; pressing {presses} keys")
        samples: list[tuple[str, float]] = []
        running_at_each_press: list[bool] = []
        frames_before = clock.frames
        lag = LagSampler()
        lag.start()
        if profile is not None:
            profile.enable()
        measuring_started = time.perf_counter()
        cpu_started = time.process_time()
        collector.active = True
        for number in range(presses):
            key, target = KEYS[type(app.screen)]
            clock.expect(target)
            running_at_each_press.append(app.sync_running)
            sent = loop.run_in_executor(pool, press_from_thread, app, key,
                                        rng.uniform(0.010, 0.060))
            try:
                await asyncio.wait_for(clock.event.wait(), timeout=10)
            except TimeoutError:
                raise RuntimeError(f"press {number} ({key!r}) drew no {target.__name__}") from None
            samples.append((key, clock.seen_at - await sent))
            if (number + 1) % 50 == 0:
                done = [s for _, s in samples]
                note(f"{number + 1} presses, p99 so far {percentile(done, 99) * 1000:.1f} ms, "
                     f"sync running: {app.sync_running}")
        measuring_seconds = time.perf_counter() - measuring_started
        cpu_seconds = time.process_time() - cpu_started
        collector.active = False
        if profile is not None:
            profile.disable()
        lag.stop()
        still_running = app.sync_running
        frames = clock.frames - frames_before
        pool.shutdown()
        # Let the sync finish on its own (leaving would cancel it), to report its length.
        while app.sync_running and time.perf_counter() - sync_started < 900:
            await asyncio.sleep(0.2)
        sync_seconds = time.perf_counter() - sync_started
        report = app.last_sync_report

    latencies = [s for _, s in samples]

    def ms(value: float) -> float:
        return round(value * 1000, 1)

    def summary(values: list[float]) -> dict[str, Any]:
        return {
            "presses": len(values),
            "p50_ms": ms(percentile(values, 50)),
            "p99_ms": ms(percentile(values, 99)),
            "max_ms": ms(max(values)),
        }

    return {
        "presses": len(samples),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies)),
        "sync_running_throughout": sync and all(running_at_each_press) and still_running,
        "target_p99_ms": 30,
        "to_product_settings": summary([s for k, s in samples if k == "p"]),
        "to_overview": summary([s for k, s in samples if k == "o"]),
        "loop_lag_ms_sync_alone": lag_summary(quiet.lags),
        "loop_lag_ms_while_pressing": lag_summary(lag.lags),
        "gc_while_pressing": collector.summary(),
        "frames_while_pressing": frames,
        "render_ms_per_frame": ms(clock.render_seconds / max(1, clock.frames)),
        "measuring_seconds": round(measuring_seconds, 2),
        # CPU of the app's process per press (its frames, the key, its polls meanwhile)
        "app_cpu_ms_per_press": ms(cpu_seconds / max(1, len(samples))),
        "sync_seconds": round(sync_seconds, 1) if sync else None,
        "sync_report": None if report is None else {  # what the sync's runner saved
            k: report.get(k) for k in ("pushed", "unchanged", "failed", "calls", "seconds")
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--store-latency", type=float, default=0.0, metavar="SECONDS",
                        help="the sandbox store answers each request this much later")
    parser.add_argument("--profile", metavar="FILE", help="cProfile of the presses (pstats)")
    parser.add_argument("--quick", action="store_true",
                        help="3 000 products at interval 3 s, 40 presses, 2 s quiet")
    parser.add_argument("--no-sync", action="store_true",
                        help="press the keys with no sync running (the baseline)")
    parser.add_argument("--quiet-seconds", type=float, default=3.0,
                        help="loop lag sampled this long after the sync starts, no key pressed")
    args = parser.parse_args()
    if args.quick:
        args.products, args.interval, args.presses, args.quiet_seconds = 3000, 3.0, 40, 2.0

    profile = cProfile.Profile() if args.profile else None
    store = SandboxProcess(args.products, args.interval, woo_latency=args.store_latency)
    with store as sandbox, temp_home("keys") as home:
        assert sandbox.endpoints is not None
        engine = connected_engine(sandbox.endpoints, home)
        try:
            result = asyncio.run(measure(
                MiraklWooApp(engine), args.presses, sync=not args.no_sync,
                quiet_seconds=args.quiet_seconds, profile=profile, seed=args.seed,
            ))
        finally:
            engine.close()
    if profile is not None:
        profile.dump_stats(args.profile)
        note(f"profile written to {args.profile}")
    emit({"products": args.products, "interval": args.interval, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
