"""A generic view of long work: step, bar, done/total, ETA and the activity as it happens.

It renders `connector.events` and knows nothing about which job sends them, so the sync
(Overview, Product Settings) and the disconnect (Account screen) share it:

    progress = self.query_one(JobProgress)
    progress.start("Deactivating products")
    await run_disconnect(engine, option, confirm, on_event=progress.handle)

`handle` may be called as often as the engine likes: progress and activity are buffered and
drawn at most `refresh_interval` apart (10 times a second by default), which keeps the
screen responsive and the output small over a slow SSH link.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widgets import Label, Log, ProgressBar

from connector.events import Activity, Event, Finished, Progress, Waiting, format_duration
from tui.widgets.text import show_text

# Words, not colours, carry the level (the app may run in 16 colours over SSH).
LEVEL_PREFIX = {"warning": "Warning: ", "error": "Error: ", "debug": ""}


def format_eta(seconds: float | None) -> str:
    """`ETA 2 min 05 s`; `ETA unknown` while the engine cannot tell yet."""
    if seconds is None:
        return "ETA unknown"
    if seconds < 1:
        return "ETA < 1 s"
    return f"ETA {format_duration(seconds)}"


def activity_line(event: Activity) -> str:
    """One log line; the level is spelled out for anything above info."""
    return f"{LEVEL_PREFIX.get(event.level, '')}{event.message}"


def _summary_part(key: str, value: int | float | str) -> str:
    words = key.replace("_", " ")
    if key == "seconds" and isinstance(value, (int, float)):
        return "in under 1 s" if value < 1 else f"in {format_duration(float(value))}"
    if isinstance(value, int):
        return f"{value:,} {words}"
    return f"{words} {value}"


def summary_line(summary: dict[str, Any]) -> str:
    """`Done: 1,050 pushed, 0 unchanged, 2 set to 0` from a Finished summary (scalars only;
    a count before its word, as the activity log says it)."""
    parts = [
        _summary_part(key, value)
        for key, value in summary.items()
        if isinstance(value, (int, float, str)) and not isinstance(value, bool)
    ]
    return "Done: " + ", ".join(parts) if parts else "Done."


class ActivityLog(Log):
    """A Log whose growing content does not lay the whole screen out again.

    Its box is fixed by CSS and its scrollbars are always shown (`overflow: scroll`), so
    a new line changes only what it scrolls over: the scrollbars are updated here instead
    of by a layout of every widget on the screen, once per line written.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)


class JobProgress(Vertical):
    """Progress of one job, fed with `connector.events` through `handle` (or `replay`).

    Hidden until `start()` or the first event, unless `hide_when_idle=False`.
    """

    DEFAULT_CSS = """
    JobProgress {
        height: auto;
        border: round $primary;
        padding: 0 1;
        margin: 1 0 0 0;
    }
    JobProgress > Label { width: 1fr; }
    JobProgress > #job-title { text-style: bold; }
    JobProgress > ProgressBar { width: 1fr; }
    JobProgress > ProgressBar > Bar { width: 1fr; }
    JobProgress > #job-log {
        height: 6;
        width: 1fr;
        overflow: scroll;
        border: none;
        background: $surface;
    }
    """

    def __init__(
        self,
        title: str = "Progress",
        *,
        unit: str = "products",
        hide_when_idle: bool = True,
        refresh_interval: float = 0.1,
        max_lines: int = 200,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.unit = unit
        self.hide_when_idle = hide_when_idle
        self.refresh_interval = refresh_interval
        self.max_lines = max_lines
        self.step = ""
        self.done = 0
        self.total = 0
        self.eta: float | None = None
        self.finished = False
        self.end_word = "finished"
        self.summary: dict[str, Any] = {}
        self.lines: list[str] = []  # every line written, for tests and for copying
        self._pending_progress: Progress | None = None
        self._pending_waiting: Waiting | None = None
        self._pending_lines: list[str] = []
        self._flush_timer: Timer | None = None
        if hide_when_idle:
            self.display = False

    def compose(self) -> ComposeResult:
        yield Label(self.title, id="job-title", markup=False)
        yield Label("", id="job-step", markup=False)
        yield ProgressBar(total=None, show_eta=False, id="job-bar")
        yield Label("", id="job-counts", markup=False)
        yield Label("", id="job-note", markup=False)
        yield ActivityLog(max_lines=self.max_lines, id="job-log")

    # feeding ---------------------------------------------------------------------------

    def start(self, title: str | None = None, *, total: int = 0) -> None:
        """Clear the last run and show the widget for a new one."""
        if title is not None:
            self.title = title
        self.step, self.done, self.total, self.eta = "", 0, total, None
        self.finished, self.summary, self.lines = False, {}, []
        self.end_word = "finished"
        self._pending_progress = self._pending_waiting = None
        self._pending_lines = []
        self.display = True
        if self.is_mounted:
            show_text(self.query_one("#job-title", Label), self.title)
            show_text(self.query_one("#job-step", Label), "Starting…")
            show_text(self.query_one("#job-counts", Label), "")
            show_text(self.query_one("#job-note", Label), "")
            self.query_one(ProgressBar).update(total=total or None, progress=0)
            self.query_one(Log).clear()

    def handle(self, event: Event) -> None:
        """Take one engine event; drawing is coalesced (call it as often as you like)."""
        self.display = True
        if isinstance(event, Progress):
            self._pending_progress = event
            self._pending_waiting = None
        elif isinstance(event, Waiting):
            self._pending_waiting = event
        elif isinstance(event, Activity):
            self._pending_lines.append(activity_line(event))
        elif isinstance(event, Finished):
            self.finished = True
            self.summary = dict(event.summary)
            self._pending_lines.append(summary_line(self.summary))
            self.flush()
            return
        self._schedule_flush()

    def replay(self, events: Iterable[Event]) -> None:
        """Draw events that happened before this widget existed (e.g. after a screen switch)."""
        for event in events:
            self.handle(event)
        self.flush()

    def note(self, text: str) -> None:
        """A line of the caller's own (an error, a result): shown now, never parsed as markup."""
        self.display = True
        self._pending_lines.append(text)
        self.flush()

    def finish(self, word: str = "finished") -> None:
        """The job ended (even without a Finished event): stop showing an ETA. `word` says
        how it ended (`finished`, or `stopped` for a job that can be resumed)."""
        self.finished = True
        self.end_word = word
        self.flush()
        if self.is_mounted:
            self._draw_progress()

    # drawing ---------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_timer is None and self.is_mounted:
            self._flush_timer = self.set_timer(self.refresh_interval, self.flush)

    def flush(self) -> None:
        """Draw what was buffered since the last refresh."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        progress, waiting, lines = (
            self._pending_progress,
            self._pending_waiting,
            self._pending_lines,
        )
        self._pending_progress = self._pending_waiting = None
        self._pending_lines = []
        if progress is not None:
            self.step, self.done, self.total, self.eta = (
                progress.step,
                progress.done,
                progress.total,
                progress.eta,
            )
        self.lines.extend(lines)
        del self.lines[: -self.max_lines]
        if not self.is_mounted:
            return  # on_mount draws the whole state
        if progress is not None or self.finished:
            self._draw_progress()
        if waiting is not None:
            show_text(
                self.query_one("#job-note", Label),
                f"Next Mirakl Connect {waiting.operation} call in "
                f"{format_duration(waiting.seconds)} (one call per interval).",
            )
        elif progress is not None:
            show_text(self.query_one("#job-note", Label), "")
        if lines:
            self.query_one(Log).write_lines(self._wrapped(lines))

    def _wrapped(self, lines: list[str]) -> list[str]:
        """Lines folded to the log's width: a Log never wraps, and at 80 columns the end of
        a line is what says what happened."""
        width = self.query_one(Log).scrollable_content_region.width or self.size.width
        if width < 20:
            return lines
        folded: list[str] = []
        for line in lines:
            folded.extend(textwrap.wrap(line, width - 1, subsequent_indent="  ") or [""])
        return folded

    def _draw_progress(self) -> None:
        step = self.step.replace("_", " ") if self.step else ""
        step = step[:1].upper() + step[1:]  # "Reading WooCommerce": names keep their case
        if self.finished:
            step = f"{step} — {self.end_word}" if step else self.end_word.capitalize()
        show_text(self.query_one("#job-step", Label), step)
        bar = self.query_one(ProgressBar)
        if self.total:
            bar.update(total=self.total, progress=self.done)
        elif self.finished:
            bar.update(total=1, progress=1)
        counts = f"{self.done:,} of {self.total:,} {self.unit}" if self.total else ""
        eta = "" if self.finished else format_eta(self.eta)
        show_text(self.query_one("#job-counts", Label), " · ".join(p for p in (counts, eta) if p))

    def on_mount(self) -> None:
        if self.lines or self.finished or self.done:
            self._redraw_all()

    def _redraw_all(self) -> None:
        show_text(self.query_one("#job-title", Label), self.title)
        self._draw_progress()
        log = self.query_one(Log)
        log.clear()
        log.write_lines(self._wrapped(self.lines))
