"""The receipt of a disconnect: it stays on screen until the merchant has read it.

It is all that is left of the connection (the data folder is gone): the option, the products
changed, what Mirakl Connect showed, the WooCommerce key to revoke. Continue (Enter) goes on
to Authorize Mirakl Connect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Static

from tui.widgets.key_footer import KeyFooter


class ReceiptScreen(Screen[None]):
    """`lines` of the receipt, and Continue."""

    DEFAULT_CSS = """
    ReceiptScreen #receipt-body { padding: 1 2; }
    ReceiptScreen #receipt { border: round $success; padding: 0 1; height: auto; }
    ReceiptScreen #continue { margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "continue", "Continue", tooltip="On to Authorize Mirakl Connect"),
        Binding("enter,escape", "continue", "Continue", show=False),
    ]

    def __init__(self, lines: list[str], on_continue: Callable[[], object]) -> None:
        super().__init__()
        self.lines = lines
        self._on_continue = on_continue

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="receipt-body"):
            yield Static("Disconnected", classes="heading")
            receipt = Static("\n".join(self.lines), id="receipt", markup=False)
            receipt.border_title = "Receipt"
            yield receipt
            yield Static(
                "Keep a note of it: nothing of the connection is left on this computer.",
                classes="note",
                markup=False,
            )
            yield Button("Continue", id="continue", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#continue", Button).focus()

    @on(Button.Pressed, "#continue")
    def action_continue(self) -> None:
        self._on_continue()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [("Continue", "On to Authorize Mirakl Connect", self.action_continue)]
