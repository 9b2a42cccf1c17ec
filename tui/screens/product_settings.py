"""Product Settings: the Sync Product toggle and how WooCommerce products are pushed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    Switch,
)

from connector.errors import ConnectorError
from connector.product_options import (
    ALLOWED_STATUSES,
    PRICE_MODE_LABELS,
    PRICE_MODES,
    STATUS_LABELS,
    ProductOptions,
)
from tui.screens.kept import KeptScreen
from tui.widgets.header import AccountsHeader
from tui.widgets.key_footer import KeyFooter
from tui.widgets.sync_view import SyncView
from tui.widgets.text import show_text
from tui.widgets.toggles import MarkedCheckbox, MarkedRadioButton

if TYPE_CHECKING:
    from connector.engine import Engine
    from tui.app import MiraklWooApp

SYNC_ON = "On: each sync pushes products."
SYNC_OFF = "Off: nothing is pushed."
TAKE_OVER = "Take them over: update them from WooCommerce"
TAKE_OVER_NOTE = (
    "Unticked, they are left alone. Taken over, they are updated by each sync and, on "
    "disconnect, set to 0 but never deleted."
)


class ProductSettingsScreen(KeptScreen):
    """Product settings, each saved the moment it changes (a line says what was saved), so
    nothing is lost by going elsewhere. An invalid value shows one message and saves nothing
    ("Save settings" and ctrl+s save what is shown again). "Sync Product" saves the form, if
    it changed and is valid, then runs the same sync as the Overview.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Save the product settings"),
    ]

    @property
    def engine(self) -> Engine:
        return cast("MiraklWooApp", self.app).engine

    def compose(self) -> ComposeResult:
        from connector.services.sync import load_options

        options = load_options(self.engine)
        yield AccountsHeader()
        with VerticalScroll(id="body", can_focus=False):
            yield Static("Product settings", classes="heading")
            with Horizontal(classes="field"):
                yield Label("Sync Product", classes="field-label")
                yield Switch(value=options.sync_products, id="sync-products")
                yield Label(
                    SYNC_ON if options.sync_products else SYNC_OFF, id="sync-state", markup=False
                )
            yield Static("WooCommerce statuses to push", classes="subheading")
            with Horizontal(id="statuses"):
                for status in ALLOWED_STATUSES:
                    yield MarkedCheckbox(
                        STATUS_LABELS[status], status in options.statuses, id=f"status-{status}"
                    )
            yield Static(
                "Stock sent when WooCommerce does not manage a product's stock "
                "(0 when it is out of stock):",
                classes="subheading",
            )
            with Horizontal(classes="field"):
                yield Label("Quantity", classes="field-label")
                yield Input(str(options.unmanaged_stock), id="stock")
            yield Static("Price", classes="subheading")
            with RadioSet(id="price-mode"):
                for mode in PRICE_MODES:
                    yield MarkedRadioButton(
                        PRICE_MODE_LABELS[mode], mode == options.price_mode, id=f"price-{mode}"
                    )
            with Horizontal(classes="field"):
                yield Label("Warehouse code", classes="field-label")
                yield Input(
                    options.warehouse_code, placeholder="optional", id="warehouse", max_length=255
                )
            with Horizontal(classes="field"):
                yield Label("Language", classes="field-label")
                yield Input(
                    options.locale, placeholder="the store's language, or e.g. en_US", id="locale"
                )
            yield Static(
                "Products with the same SKU already on Mirakl Connect, made there by you, "
                "not by the connector:",
                classes="subheading",
            )
            yield MarkedCheckbox(TAKE_OVER, options.take_over_existing, id="take-over")
            yield Static(TAKE_OVER_NOTE, classes="note", markup=False)
            with Horizontal(classes="actions"):
                yield Button("Save settings", id="save", variant="primary")
                yield Button("Sync Product", id="sync-now")
            yield SyncView()
        # Outside the scrolling body: the answer to Save is always in sight.
        yield Static("", id="settings-error", classes="error", markup=False)
        yield Static("", id="settings-saved", classes="note", markup=False)
        yield KeyFooter()

    def shown(self) -> None:
        """Shown (first or again: the App keeps this screen): the form shows what is saved,
        so edits left unsaved when the merchant went elsewhere are not mistaken for saved."""
        from connector.services.sync import load_options

        self.show_options(load_options(self.engine))
        self._say()
        self.refresh_state()

    def show_options(self, options: ProductOptions) -> None:
        """Put `options` in the form (no event: nothing is saved by this)."""
        with self.prevent(Switch.Changed, Checkbox.Changed, RadioSet.Changed, Input.Changed):
            self.query_one("#sync-products", Switch).value = options.sync_products
            show_text(
                self.query_one("#sync-state", Label),
                SYNC_ON if options.sync_products else SYNC_OFF,
            )
            for status in ALLOWED_STATUSES:
                self.query_one(f"#status-{status}", Checkbox).value = status in options.statuses
            self.query_one("#stock", Input).value = str(options.unmanaged_stock)
            self.query_one(f"#price-{options.price_mode}", RadioButton).value = True
            self.query_one("#warehouse", Input).value = options.warehouse_code
            self.query_one("#locale", Input).value = options.locale
            self.query_one("#take-over", Checkbox).value = options.take_over_existing

    def refresh_state(self) -> None:
        """Enable "Sync Product" unless a sync runs, here or in another process (the App
        calls this when one starts or ends)."""
        app = cast("MiraklWooApp", self.app)
        self.query_one("#sync-now", Button).disabled = bool(
            app.sync_running or app.background_kind()
        )

    # reading and saving ----------------------------------------------------------------

    def read_form(self) -> ProductOptions:
        """The options the form holds; raises UsageError with one message if one is wrong."""
        pressed = self.query_one("#price-mode", RadioSet).pressed_button
        price_mode = (pressed.id or "").removeprefix("price-") if pressed else ""
        return ProductOptions(
            sync_products=self.query_one("#sync-products", Switch).value,
            statuses=tuple(
                s for s in ALLOWED_STATUSES if self.query_one(f"#status-{s}", Checkbox).value
            ),
            unmanaged_stock=self.query_one("#stock", Input).value,  # type: ignore[arg-type]
            price_mode=price_mode,  # type: ignore[arg-type]
            warehouse_code=self.query_one("#warehouse", Input).value,
            locale=self.query_one("#locale", Input).value,
            take_over_existing=self.query_one("#take-over", Checkbox).value,
        )

    def _say(self, error: str = "", saved: str = "") -> None:
        error_static = self.query_one("#settings-error", Static)
        show_text(error_static, f"Not saved: {error}" if error else "")
        error_static.display = bool(error)
        saved_static = self.query_one("#settings-saved", Static)
        show_text(saved_static, saved)
        saved_static.display = bool(saved)

    def save(self) -> bool:
        """Save the form if it is valid; True when what is saved matches the form."""
        from connector.services.sync import load_options, save_options

        try:
            options = self.read_form()
        except ConnectorError as error:
            self._say(error=error.one_line())
            return False
        if options != load_options(self.engine):
            save_options(self.engine, options)
            self._say(saved="Settings saved.")
        else:
            self._say(saved="Settings saved (nothing had changed).")
        return True

    def action_save(self) -> None:
        """Save the product settings (ctrl+s, Enter in a field, or the button)."""
        self.save()

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def _save_requested(self) -> None:
        self.save()

    @on(Checkbox.Changed)
    @on(RadioSet.Changed)
    @on(Input.Changed)
    def _field_changed(self) -> None:
        """Every change is saved as it is made, when the form is valid."""
        from connector.services.sync import load_options, save_options

        try:
            options = self.read_form()
        except ConnectorError as error:
            self._say(error=error.one_line())
            return
        saved = load_options(self.engine)
        if options == saved:
            self._say()
            return
        save_options(self.engine, options)
        before = dict(saved.describe())
        changed = [label for label, value in options.describe() if before.get(label) != value]
        self._say(saved=f"Saved: {', '.join(changed)}." if changed else "Saved.")

    def before_sync(self) -> bool:
        """Called by the App before a sync starts from this screen: sync what is shown."""
        return self.save()

    @on(Button.Pressed, "#sync-now")
    def _sync_pressed(self) -> None:
        cast("MiraklWooApp", self.app).action_sync()

    @on(Switch.Changed, "#sync-products")
    def _sync_toggled(self, event: Switch.Changed) -> None:
        """The toggle is saved at once, alone: other fields wait for "Save settings"."""
        from connector.services.sync import load_options, save_options

        saved = load_options(self.engine)
        if saved.sync_products != event.value:
            save_options(self.engine, replace(saved, sync_products=event.value))
        show_text(self.query_one("#sync-state", Label), SYNC_ON if event.value else SYNC_OFF)
        self._say(saved=f"Sync Product is {'on' if event.value else 'off'} (saved).")

    def action_toggle_sync(self) -> None:
        switch = self.query_one("#sync-products", Switch)
        switch.value = not switch.value

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """Commands the App lists in the palette while this screen is shown."""
        yield ("Save product settings", "Save the statuses, stock, price options", self.action_save)
        yield ("Toggle Sync Product", "Turn pushing products on or off", self.action_toggle_sync)
