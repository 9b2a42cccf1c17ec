"""Quitting while the app runs a job: leave it running in the background, or stop it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

#: What the modal returns.
BACKGROUND, STOP = "background", "stop"


class QuitModal(ModalScreen[str | None]):
    """Returns BACKGROUND, STOP, or None (stay)."""

    DEFAULT_CSS = """
    QuitModal { align: center middle; background: $background 70%; }
    QuitModal > #quit-dialog {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    QuitModal #quit-text { margin-bottom: 1; }
    QuitModal #quit-buttons { height: auto; align-horizontal: right; }
    QuitModal #quit-buttons > Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Stay"),
        Binding("b", "choose('background')", "Leave running", show=False),
        Binding("x", "choose('stop')", "Stop it", show=False),
    ]

    def __init__(self, kind: str, *, background: bool) -> None:
        super().__init__()
        self.kind = kind
        self.background = background  # False in the demo: its servers end with the app

    def compose(self) -> ComposeResult:
        job = "sync" if self.kind == "sync" else "disconnect"
        if self.background:
            text = (
                f"A {job} is running. Leave it running in the background (the terminal may "
                "then be closed; `mirakl-woo jobs` shows it), or stop it: it is recorded "
                "where it stopped and resumes later."
            )
        else:
            text = (
                f"A {job} is running. The demo's servers end with the app, so it cannot go "
                "on in the background: stop it (it is recorded where it stopped), or stay."
            )
        with Vertical(id="quit-dialog") as dialog:
            dialog.border_title = "Quit"
            yield Static(text, id="quit-text", markup=False)
            with Horizontal(id="quit-buttons"):
                yield Button("Stay", id="stay")
                yield Button("Stop it", id="stop", variant="warning")
                if self.background:
                    yield Button("Leave it running", id="background", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#background" if self.background else "#stay", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(None if choice == "stay" else choice)

    def action_stay(self) -> None:
        self.dismiss(None)

    def action_choose(self, choice: str) -> None:
        if choice == BACKGROUND and not self.background:
            return
        self.dismiss(choice)
