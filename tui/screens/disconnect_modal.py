"""Ask what happens to the catalog, and for the word `disconnect`, before anything is deleted."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.validation import Function
from textual.widgets import Button, Footer, Input, RadioButton, RadioSet, Static

from connector.services.disconnect import CATALOG_OPTIONS, confirmation_ok
from tui.screens.disconnect_progress import OPTION_LABELS, format_duration, products

if TYPE_CHECKING:
    from connector.services.disconnect import DisconnectPlan

CONFIRM_PLACEHOLDER = "Type disconnect to confirm"
CONFIRM_HINT = "Type the word disconnect in lower case."
CHOOSE_HINT = "Choose what happens to your products on Mirakl Connect."


@dataclass(frozen=True)
class DisconnectRequest:
    """What the merchant confirmed: one of `CATALOG_OPTIONS`."""

    option: str


def explain(option: str, plan: DisconnectPlan) -> str:
    """The one-line explanation under each option, with the products it touches."""
    count = products(plan.linked)
    if option == "keep":
        return f"Your {count} stay on Mirakl Connect as they are."
    eta = format_duration(plan.eta(option))
    if option == "deactivate":
        return f"Quantities set to 0 on Mirakl Connect, products stay: {count}, {eta}."
    return f"Removed from Mirakl Connect: {count}, {eta}."


class OptionButton(RadioButton):
    """A radio button with its explanation on the lines below the label.

    `label` stays exactly the option's name; the explanation is drawn under it, indented
    to the label and wrapped to the width.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"option--explanation"}
    DEFAULT_CSS = """
    OptionButton > .option--explanation { color: $text-muted; }
    """

    def __init__(self, label: str, explanation: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.explanation = explanation

    @property
    def _indent(self) -> int:
        # The button glyph plus the one-cell padding ToggleButton puts before the label.
        return self._button.cell_length + 1

    def _explanation_lines(self, width: int) -> list[str]:
        return textwrap.wrap(self.explanation, max(10, width - self._indent)) or [""]

    def render(self) -> Content:
        style = self.get_visual_style("option--explanation")
        lines = self._explanation_lines(self.content_region.width or self.size.width)
        pad = " " * self._indent
        below = Content("\n").join(Content(pad + line).stylize_before(style) for line in lines)
        return Content.assemble(super().render(), "\n", below)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self._explanation_lines(width))


class DisconnectModal(ModalScreen[DisconnectRequest | None]):
    """Says what a disconnect does; returns the chosen option, or None when cancelled."""

    DEFAULT_CSS = """
    DisconnectModal {
        align: center middle;
        background: $background 70%;
    }
    DisconnectModal > #dialog {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $error;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    DisconnectModal #dialog-body {
        height: auto;
        max-height: 1fr;
        scrollbar-gutter: stable;
    }
    DisconnectModal #what-happens { margin-bottom: 1; }
    DisconnectModal #question { text-style: bold; }
    DisconnectModal RadioSet { width: 100%; }
    DisconnectModal #confirm { margin-top: 1; }
    DisconnectModal #hint { color: $text-warning; height: 1; padding: 0 1; }
    DisconnectModal #buttons {
        height: auto;
        align-horizontal: right;
        & > Button { margin-left: 2; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, plan: DisconnectPlan) -> None:
        super().__init__()
        self.plan = plan

    def _names(self) -> tuple[str, str]:
        mirakl: dict[str, Any] = getattr(self.plan, "mirakl", None) or {}
        woo: dict[str, Any] = getattr(self.plan, "woocommerce", None) or {}
        seller = mirakl.get("company_name") or mirakl.get("company_id")
        shop = woo.get("store_name") or woo.get("url")
        return (
            f"Mirakl Connect ({seller})" if seller else "Mirakl Connect",
            f"WooCommerce ({shop})" if shop else "WooCommerce",
        )

    def compose(self) -> ComposeResult:
        mirakl, woo = self._names()
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Disconnect"
            with VerticalScroll(id="dialog-body"):
                yield Static(
                    f"Both accounts will be disconnected: {mirakl} and {woo}. "
                    "All of the connector's information will be deleted from this computer. "
                    "To use the connector again you must authorize both accounts again.",
                    id="what-happens",
                    markup=False,
                )
                yield Static(
                    f"What happens to the {products(self.plan.linked)} the connector "
                    "put on Mirakl Connect?",
                    id="question",
                    markup=False,
                )
                yield RadioSet(
                    *(
                        OptionButton(OPTION_LABELS[option], explain(option, self.plan), id=option)
                        for option in CATALOG_OPTIONS
                    ),
                    id="options",
                )
                yield Input(
                    placeholder=CONFIRM_PLACEHOLDER,
                    validators=[Function(confirmation_ok, CONFIRM_HINT)],
                    id="confirm",
                )
                yield Static("", id="hint", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Disconnect & Continue", id="go", variant="error", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()

    @property
    def option(self) -> str | None:
        """The chosen option, or None while no radio button is pressed."""
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.id if pressed is not None else None

    @property
    def ready(self) -> bool:
        return self.option is not None and confirmation_ok(self.query_one(Input).value)

    def _refresh_state(self) -> None:
        value = self.query_one(Input).value
        if value.strip() and not confirmation_ok(value):
            hint = CONFIRM_HINT
        elif self.option is None and confirmation_ok(value):
            hint = CHOOSE_HINT
        else:
            hint = ""
        self.query_one("#hint", Static).update(hint)
        self.query_one("#go", Button).disabled = not self.ready

    @on(RadioSet.Changed)
    @on(Input.Changed)
    def _changed(self) -> None:
        self._refresh_state()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.ready:
            self._confirm()

    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        if self.ready:
            self._confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _confirm(self) -> None:
        option = self.option
        assert option is not None
        self.dismiss(DisconnectRequest(option))
