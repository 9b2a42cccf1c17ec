"""Ask what happens to the catalog, and for the word `disconnect`, before anything is deleted."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
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
from textual.widgets import Button, Input, RadioSet, Static

from connector.services.disconnect import CATALOG_OPTIONS, OPTION_LABELS, confirmation_ok
from tui.widgets.key_footer import KeyFooter
from tui.widgets.text import show_text
from tui.widgets.toggles import MarkedRadioButton

if TYPE_CHECKING:
    from connector.services.disconnect import DisconnectPlan

CONFIRM_PLACEHOLDER = "Type disconnect to confirm"
CONFIRM_HINT = "Type the word disconnect in lower case."
#: Said after the warning when a sync is scheduled for this data folder.
SCHEDULE_GOES = {
    "systemd": " The scheduled sync (a systemd timer) is removed too.",
    "cron": " The cron line you added for the scheduled sync will do nothing while this "
    "computer is not connected; remove it.",
}
CHOOSE_HINT = "Choose what happens to your products on Mirakl Connect."


def format_count(n: int) -> str:
    """`2,000`: written the same way as on the Overview and in the progress view."""
    return f"{n:,}"


def products(n: int) -> str:
    """`1 product`, `2,000 products`."""
    return f"{format_count(n)} product{'' if n == 1 else 's'}"


def format_duration(seconds: float) -> str:
    """A rough duration for people: `under a minute`, `about 3 min`, `about 1 h 05 min`."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min"


@dataclass(frozen=True)
class DisconnectRequest:
    """What the merchant confirmed: one of `CATALOG_OPTIONS`."""

    option: str


def option_texts(option: str, plan: DisconnectPlan) -> tuple[str, str]:
    """(detail, explanation) of an option: the products it touches, and what it does."""
    count = products(plan.linked)
    if option == "keep":
        return "", f"Your {count} stay on Mirakl Connect as they are."
    detail = f"{count}, {format_duration(plan.eta(option))}"
    if option == "deactivate":
        return detail, "Quantities set to 0 on Mirakl Connect; the products stay."
    if plan.taken_over:
        return detail, (
            f"Removed from Mirakl Connect, except the {products(plan.taken_over)} that were "
            "there before the connector: those are set to 0, not deleted."
        )
    return detail, "Removed from Mirakl Connect; your other products there stay."


class OptionButton(MarkedRadioButton):
    """A radio button whose `label` is exactly the option's name, followed by what it
    touches (`detail`) and, on the lines below, what it does (`explanation`)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"option--explanation"}
    DEFAULT_CSS = """
    OptionButton > .option--explanation { color: $text-muted; }
    """

    def __init__(self, label: str, detail: str, explanation: str, *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.detail = detail
        self.explanation = explanation

    @property
    def _indent(self) -> int:
        # The button glyph plus the one-cell padding ToggleButton puts before the label.
        return self._button.cell_length + 1

    def _layout(self, width: int) -> tuple[str, list[str]]:
        """The suffix of the label line and the explanation lines, for `width` cells."""
        first = self._indent + self._label.cell_length + 1
        suffix = f"· {self.detail}" if self.detail else ""
        text = self.explanation
        if suffix and first + len(suffix) > width:
            suffix, text = "", f"{self.detail}. {text}"
        return suffix, textwrap.wrap(text, max(10, width - self._indent))

    def render(self) -> Content:
        style = self.get_visual_style("option--explanation")
        suffix, lines = self._layout(self.content_region.width or self.size.width)
        pad = " " * self._indent
        parts: list[Content | str] = [super().render()]
        if suffix:
            parts.append(Content(suffix).stylize_before(style))
        for line in lines:
            parts += ["\n", Content(pad + line).stylize_before(style)]
        return Content.assemble(*parts)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 + len(self._layout(width)[1])


#: Rows around the dialog's body: its border (2), the buttons (3), the footer (1).
_CHROME = 6


class DisconnectModal(ModalScreen[DisconnectRequest | None]):
    """Says what a disconnect does; returns the chosen option, or None when cancelled."""

    DEFAULT_CSS = """
    DisconnectModal {
        align: center middle;
        background: $background 70%;
    }
    DisconnectModal > #dialog {
        width: 80;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $error;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    DisconnectModal #dialog-body {
        height: auto;  /* as tall as its text; capped by `on_resize` so the buttons stay */
    }
    DisconnectModal #what-happens { margin-bottom: 1; }
    DisconnectModal #question { text-style: bold; }
    DisconnectModal RadioSet { width: 100%; }
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
                    f"{mirakl} and {woo} will both be disconnected, and all of the "
                    "connector's information deleted from this computer. To use the "
                    "connector again you must authorize both accounts again."
                    + SCHEDULE_GOES.get(self.plan.scheduled or "", ""),
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
                        OptionButton(
                            OPTION_LABELS[option], *option_texts(option, self.plan), id=option
                        )
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
        yield KeyFooter()

    def on_mount(self) -> None:
        # Opens at its top: the warning is read first, even when the body has to scroll.
        self.query_one(RadioSet).focus(scroll_visible=False)
        self._fit()
        release: Callable[[], None] | None = getattr(self.app, "release_keys", None)
        if release is not None:  # the keys typed while it was being built reach it now
            self.call_after_refresh(release)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The body is as tall as its text, and no taller than what the buttons, the dialog's
        border and the footer leave (then it scrolls)."""
        self.query_one("#dialog-body").styles.max_height = max(4, self.size.height - _CHROME)

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
        show_text(self.query_one("#hint", Static), hint)
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
        else:  # the button is not armed yet: say what is missing (no colour needed)
            show_text(self.query_one("#hint", Static), self._missing())

    def _missing(self) -> str:
        word_ok = confirmation_ok(self.query_one(Input).value)
        if self.option is None and not word_ok:
            return "Choose what happens to the products above, and type disconnect."
        return CHOOSE_HINT if self.option is None else CONFIRM_HINT

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
