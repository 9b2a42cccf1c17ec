"""The disconnect job as it runs: current step, products done of total, ETA, activity."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, ProgressBar, Static

from connector.events import Activity, Event, Finished, Progress, Waiting

#: Option id -> the label the merchant chose it by (exact, shared with the modal).
OPTION_LABELS: dict[str, str] = {
    "keep": "Disconnect & keep catalog active",
    "deactivate": "Deactivate Products",
    "delete": "Delete Products",
}

#: Job step id -> what the merchant reads. Unknown steps are shown capitalised.
STEP_LABELS: dict[str, str] = {
    "confirmed": "Starting",
    "catalog": "Updating the catalog on Mirakl Connect",
    "deactivate": "Setting quantities to 0 on Mirakl Connect",
    "delete": "Removing products from Mirakl Connect",
    "keep": "Keeping the catalog on Mirakl Connect",
    "store": "Disconnecting the WooCommerce store",
    "wipe": "Deleting the connector's data from this computer",
    "done": "Done",
}


def format_count(n: int) -> str:
    """`2 000`: a space between thousands reads the same in every locale."""
    return f"{n:,}".replace(",", " ")


def products(n: int) -> str:
    """`1 product`, `2 000 products`."""
    return f"{format_count(n)} product{'' if n == 1 else 's'}"


def format_duration(seconds: float) -> str:
    """A rough duration for people: `under a minute`, `about 3 min`, `about 1 h 05 min`."""
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min"


def step_label(step: str | None) -> str:
    if not step:
        return "Starting"
    return STEP_LABELS.get(step, step.replace("_", " ").capitalize())


class DisconnectProgress(Vertical):
    """Renders `connector.events` of a disconnect job; state can also be set directly."""

    DEFAULT_CSS = """
    DisconnectProgress {
        height: auto;
        border: round $primary;
        border-title-style: bold;
        padding: 0 1;
        & > #progress-step { text-style: bold; }
        & > ProgressBar { margin: 0 0; }
        & > #progress-counts { color: $text-muted; }
        & > Log { height: 6; border: none; background: $surface; margin-top: 1; }
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = "Disconnecting"
        self.step = ""
        self.done = 0
        self.total = 0
        self.eta: float | None = None
        self.waiting: str = ""

    def compose(self) -> ComposeResult:
        yield Static("Starting", id="progress-step", markup=False)
        yield ProgressBar(total=None, show_eta=False, id="progress-bar")
        yield Static("", id="progress-counts", markup=False)
        yield Log(max_lines=500, id="progress-activity", auto_scroll=True)

    def reset(self, option: str) -> None:
        """Start over for a (re)run of `option`; the activity of earlier attempts stays."""
        self.border_title = f"Disconnecting: {OPTION_LABELS.get(option, option)}"
        self.set_progress("", 0, 0, None)

    def set_progress(self, step: str, done: int, total: int, eta: float | None) -> None:
        self.step, self.done, self.total, self.eta = step, done, total, eta
        self.waiting = ""
        self._render_state()

    def set_waiting(self, operation: str, seconds: float) -> None:
        self.waiting = (
            f"Waiting {math.ceil(seconds)} s for Mirakl Connect's next {operation} slot "
            "(one call per interval)."
        )
        self._render_state()

    def add_activity(self, message: str, level: str = "info") -> None:
        prefix = "" if level == "info" else f"{level.upper()}: "
        self.query_one(Log).write_line(prefix + message)

    def show_event(self, event: Event) -> None:
        """Apply one event from `connector.events`."""
        if isinstance(event, Progress):
            self.set_progress(event.step, event.done, event.total, event.eta)
        elif isinstance(event, Activity):
            self.add_activity(event.message, event.level)
        elif isinstance(event, Waiting):
            self.set_waiting(event.operation, event.seconds)
        elif isinstance(event, Finished):
            self.set_progress("done", self.total or self.done, self.total or self.done, 0)

    def _render_state(self) -> None:
        self.query_one("#progress-step", Static).update(step_label(self.step))
        bar = self.query_one(ProgressBar)
        if self.total:
            bar.update(total=self.total, progress=self.done)
        else:
            bar.update(total=None, progress=0)
        parts: list[str] = []
        if self.total:
            parts.append(f"{format_count(self.done)} of {products(self.total)}")
        if self.eta is not None and self.total and self.done < self.total:
            parts.append(f"{format_duration(self.eta)} left")
        line = " · ".join(parts)
        if self.waiting:
            line = f"{line}\n{self.waiting}" if line else self.waiting
        self.query_one("#progress-counts", Static).update(line)
