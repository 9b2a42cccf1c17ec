"""The line that says where a running job runs, and its Stop button.

Every job runs in a runner (one this app started, or another process): while one runs, the
reason Sync now and Disconnect wait, and "Stop" (key `x`). Hidden otherwise. The button runs
the App's action, so the button, the key and the palette entry do the same thing.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from tui.widgets.text import show_text

IDLE, ELSEWHERE = "idle", "elsewhere"


class JobControls(Vertical):
    """`show_elsewhere(reason)` / `hide()`; the mode is in `mode`."""

    DEFAULT_CSS = """
    JobControls {
        height: auto;
        padding: 0 1;
    }
    JobControls > #job-reason { height: auto; }
    JobControls > Horizontal { height: auto; }
    JobControls Button { margin: 0 1 0 0; }
    """

    ACTIONS: ClassVar[dict[str, str]] = {"job-stop": "app.stop_job"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.mode = IDLE
        self.reason = ""
        self.display = False

    def compose(self) -> ComposeResult:
        yield Static("", id="job-reason", markup=False)
        with Horizontal():
            yield Button("Stop", id="job-stop", variant="warning")

    def on_mount(self) -> None:
        self._draw()

    def show_elsewhere(self, reason: str) -> None:
        """A runner works on the job: say where, and offer Stop."""
        self._set(ELSEWHERE, reason)

    def hide(self) -> None:
        self._set(IDLE, "")

    def _set(self, mode: str, reason: str) -> None:
        self.mode, self.reason = mode, reason
        self._draw()

    def _draw(self) -> None:
        self.display = self.mode != IDLE
        if not self.is_mounted:
            return
        reason = self.query_one("#job-reason", Static)
        show_text(reason, self.reason)
        reason.display = bool(self.reason)
        self.query_one("#job-stop", Button).display = self.mode == ELSEWHERE

    @on(Button.Pressed)
    async def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = self.ACTIONS.get(event.button.id or "")
        if action is not None:
            await self.run_action(action)
