"""What watching a job run by another process costs the app, in CPU: the app (under Textual's
Pilot, 80×24) on a data folder connected to loopback sandboxes, first idle (no job) for a
window, then while a `mirakl-woo sync` of a large catalog runs in another process, for a
window of the same length. For each window: the CPU seconds this process used (user + system,
`getrusage(RUSAGE_SELF)`, every thread of it) and that as a percent of one core.

What runs where:

- the sandboxes run in a process of their own (`mirakl-woo sandbox`), and the sync runs as
  `python -m connector.cli sync` in another (a child of this script: `RUSAGE_SELF` never
  counts a child), so the CPU measured is the app's alone;
- the app notices the runner by itself (its data-folder watch, every 0.3 s) and then polls
  the journal (`JournalWatch.poll`, every 0.5 s); the watched window starts `--settle`
  seconds after it started watching, so the first poll and the lazy imports stay outside;
- each frame is also rendered to the escape sequences a terminal would get
  (`render_segments`, as `key_latency.py` does), the work the headless driver skips;
  `--no-render` leaves it out.

The figures are split by code path (CPU of the event-loop thread, `time.thread_time`): the
journal polls, the app's handling of what they return (`_poll_watch`, the polls included),
the data-folder polls, the frame rendering; `other` is the rest (Textual's loop, layout,
compositing). `job_running_throughout` says whether the sync held the runner lock at every
poll of the window and its process was still alive at the end; it is stopped (SIGTERM,
journaled as interrupted) once the window is over. `--profile FILE` writes a cProfile of the
watched window.

    .venv/bin/python benchmarks/watch_cost.py [--products 20000] [--interval 2]
        [--seconds 20] [--idle-seconds 20] [--settle 2] [--no-render] [--profile FILE] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    Endpoints,
    SandboxProcess,
    connected_engine,
    emit,
    note,
    process_cpu,
    temp_home,
)

from connector.services.journal_watch import JournalWatch
from tui.app import MiraklWooApp
from tui.folder_watch import FolderWatch

SIZE = (80, 24)
TARGET_PERCENT = 2.0


@dataclass
class Meter:
    """Calls of one code path and the event-loop thread's CPU spent in them."""

    calls: int = 0
    cpu: float = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.cpu += time.thread_time() - started
                self.calls += 1

        return timed

    def snapshot(self) -> tuple[int, float]:
        return self.calls, self.cpu


@dataclass
class Meters:
    journal_poll: Meter = field(default_factory=Meter)
    watch_handling: Meter = field(default_factory=Meter)
    folder_poll: Meter = field(default_factory=Meter)
    render: Meter = field(default_factory=Meter)
    # what each journal poll saw: (the runner held the lock, the watch had not ended)
    seen: list[tuple[bool, bool]] = field(default_factory=list)


def install_meters(app: MiraklWooApp, meters: Meters, *, render: bool) -> None:
    """Count and time the watch's code paths, without changing the app's code: the two
    polls on their classes, the app's journal-poll handler and its frames on this instance
    (before mount, so the timers take the wrapped handler)."""
    journal_poll = JournalWatch.poll

    def poll(watch: JournalWatch) -> Any:
        events = journal_poll(watch)
        meters.seen.append((watch.runner_active, watch.ended is None))
        return events

    JournalWatch.poll = meters.journal_poll.wrap(poll)  # type: ignore[method-assign]
    FolderWatch.poll = meters.folder_poll.wrap(FolderWatch.poll)  # type: ignore[method-assign]
    app._poll_watch = meters.watch_handling.wrap(app._poll_watch)  # type: ignore[method-assign]

    original: Callable[[Any, Any], None] = app._display

    @meters.render.wrap  # one call a frame, rendered or not
    def frame(renderable: Any) -> None:
        if render and getattr(renderable, "render_segments", None) is not None:
            renderable.render_segments(app.console)

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if renderable is not None and not app._batch_count:
            frame(renderable)

    app._display = display  # type: ignore[method-assign]


class Window:
    """This process's CPU (getrusage) and the meters over one measured stretch."""

    def __init__(self, meters: Meters) -> None:
        self.meters = meters

    def __enter__(self) -> Window:
        self.wall = time.perf_counter()
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.before = {name: getattr(self.meters, name).snapshot() for name in self._names()}
        self.seen_from = len(self.meters.seen)
        return self

    def __exit__(self, *exc: object) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.seconds = time.perf_counter() - self.wall
        self.user = usage.ru_utime - self.usage.ru_utime
        self.system = usage.ru_stime - self.usage.ru_stime
        self.after = {name: getattr(self.meters, name).snapshot() for name in self._names()}
        self.seen = self.meters.seen[self.seen_from:]

    @staticmethod
    def _names() -> tuple[str, ...]:
        return ("journal_poll", "watch_handling", "folder_poll", "render")

    def delta(self, name: str) -> tuple[int, float]:
        (calls0, cpu0), (calls1, cpu1) = self.before[name], self.after[name]
        return calls1 - calls0, cpu1 - cpu0

    def figures(self) -> dict[str, Any]:
        cpu = self.user + self.system

        def pct(seconds: float) -> float:
            return round(100 * seconds / self.seconds, 3)

        paths: dict[str, Any] = {}
        accounted = 0.0
        for name in self._names():
            calls, spent = self.delta(name)
            if name != "journal_poll":  # inside watch_handling: not added twice
                accounted += spent
            paths[name] = {"calls": calls, "cpu_seconds": round(spent, 4),
                           "percent_of_core": pct(spent),
                           "ms_per_call": round(1000 * spent / calls, 3) if calls else None}
        paths["other"] = {"cpu_seconds": round(cpu - accounted, 4),
                          "percent_of_core": pct(cpu - accounted)}
        return {
            "window_seconds": round(self.seconds, 2),
            "cpu_seconds": round(cpu, 3),
            "user_seconds": round(self.user, 3),
            "system_seconds": round(self.system, 3),
            "percent_of_core": pct(cpu),
            "journal_polls": self.delta("journal_poll")[0],
            "folder_polls": self.delta("folder_poll")[0],
            "frames": self.delta("render")[0],
            "by_path": paths,
        }


def start_sync(endpoints: Endpoints, home: Path, log: Path) -> subprocess.Popen[bytes]:
    """`mirakl-woo sync` in another process (its progress lines to a file, not a pipe that
    nobody reads)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [PYTHON, "-m", "connector.cli", "sync"], cwd=ROOT, env=endpoints.env(home),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def measure(app: MiraklWooApp, meters: Meters, endpoints: Endpoints, home: Path, *,
                  seconds: float, idle_seconds: float, settle: float,
                  profile: cProfile.Profile | None) -> dict[str, Any]:
    log = home.parent / "sync.log"
    runner: subprocess.Popen[bytes] | None = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            note(f"the app opened on {type(app.screen).__name__}; settling {settle:g} s")
            await asyncio.sleep(settle)
            note(f"idle window: {idle_seconds:g} s, no job running")
            with Window(meters) as idle:
                await asyncio.sleep(idle_seconds)
            if app.job_watch is not None:
                raise RuntimeError("the app watched a job in the idle window")

            note("starting `mirakl-woo sync` in another process")
            runner = start_sync(endpoints, home, log)
            noticed = await wait_for(lambda: app.job_watch is not None, 60,
                                     "the app did not start watching the sync")
            watch = app.job_watch
            assert watch is not None
            note(f"the app watches it after {noticed:.1f} s (step {watch.step!r}); "
                 f"settling {settle:g} s")
            await asyncio.sleep(settle)
            if runner.poll() is not None:
                raise RuntimeError(f"the sync ended before the window (exit {runner.returncode})")
            start_state = (watch.step, watch.done, watch.total)
            runner_cpu = process_cpu(runner.pid)
            note(f"watched window: {seconds:g} s")
            if profile is not None:
                profile.enable()
            with Window(meters) as watched:
                await asyncio.sleep(seconds)
            if profile is not None:
                profile.disable()
            runner_cpu = process_cpu(runner.pid) - runner_cpu if runner.poll() is None else None
            runner_alive = runner.poll() is None
            end_state = (watch.step, watch.done, watch.total)
            same_watch = app.job_watch is watch and watch.ended is None
            running = (runner_alive and same_watch and bool(watched.seen)
                       and all(active and going for active, going in watched.seen))

            note("stopping the sync (SIGTERM: journaled as interrupted)")
            runner.send_signal(signal.SIGTERM)
            runner_exit = await asyncio.get_running_loop().run_in_executor(
                None, runner.wait, 30)
            with_end = await wait_for(lambda: app.job_watch is None, 15,
                                      "the app did not see the sync end")
            note(f"the app saw the end {with_end:.1f} s after the runner exited")
    finally:
        if runner is not None and runner.poll() is None:
            runner.kill()
            runner.wait()

    watching, resting = watched.figures(), idle.figures()
    return {
        "watching": {
            **watching,
            "job_running_throughout": running,
            "runner_held_lock_at_polls": sum(active for active, _ in watched.seen),
            "start": dict(zip(("step", "done", "total"), start_state, strict=True)),
            "end": dict(zip(("step", "done", "total"), end_state, strict=True)),
            "runner_percent_of_core": (round(100 * runner_cpu / watched.seconds, 1)
                                       if runner_cpu is not None else None),
        },
        "idle": resting,
        "watch_minus_idle_percent": round(watching["percent_of_core"]
                                          - resting["percent_of_core"], 3),
        "target_percent": TARGET_PERCENT,
        "within_target": watching["percent_of_core"] < TARGET_PERCENT,
        "noticed_after_seconds": round(noticed, 2),
        "runner_exit_code": runner_exit,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20000,
                        help="the sandbox store's catalog (default 20000)")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between two Mirakl calls; 2 (default) keeps a sync of "
                             "20000 products running well past the window")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="the watched window (default 20)")
    parser.add_argument("--idle-seconds", type=float, default=None,
                        help="the idle window (default: as long as the watched one)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds left out before each window (default 2)")
    parser.add_argument("--no-render", action="store_true",
                        help="do not render frames to escape sequences (headless as is)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile of the watched window")
    parser.add_argument("--quick", action="store_true",
                        help="3000 products at interval 3 s, 5 s windows, 1 s settle")
    args = parser.parse_args()
    if args.quick:
        args.products, args.interval, args.seconds, args.settle = 3000, 3.0, 5.0, 1.0
    idle_seconds = args.seconds if args.idle_seconds is None else args.idle_seconds

    profile = cProfile.Profile() if args.profile else None
    meters = Meters()
    with SandboxProcess(args.products, args.interval) as sandbox, temp_home("watch") as home:
        assert sandbox.endpoints is not None
        engine = connected_engine(sandbox.endpoints, home)
        try:
            app = MiraklWooApp(engine)
            install_meters(app, meters, render=not args.no_render)
            result = asyncio.run(measure(
                app, meters, sandbox.endpoints, home, seconds=args.seconds,
                idle_seconds=idle_seconds, settle=args.settle, profile=profile,
            ))
        finally:
            engine.close()
    if profile is not None:
        profile.dump_stats(args.profile)
        note(f"profile written to {args.profile}")
    emit({
        "products": args.products,
        "interval": args.interval,
        "poll_interval": app.poll_interval,
        "follow_interval": app.follow_interval,
        "render": not args.no_render,
        **result,
    })
    if not result["watching"]["job_running_throughout"]:
        note("the sync was not running throughout the watched window: the figure is not one "
             "of watching a running job")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
