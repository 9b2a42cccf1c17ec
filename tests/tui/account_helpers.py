"""Shared by the Account / Disconnect tests: a synced sandbox world and a host App.

The host App is `MiraklWooApp` opened on the Account screen; it records the `Disconnected`
receipt, then shows a stand-in for the Authorize screen, as the real App shows its own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Static

import tui.app
from connector.engine import Engine
from connector.product_options import ProductOptions
from connector.services.sync import run_sync, save_options
from tests.sandboxes import World, make_world
from tui.app import MiraklWooApp
from tui.messages import Disconnected
from tui.screens.account import AccountScreen
from tui.screens.disconnect_modal import DisconnectModal

#: Products the seller has on Mirakl Connect that the connector never pushed.
FOREIGN: list[dict[str, Any]] = [
    {"id": "seller-own-1", "quantities": [{"available_quantity": 7}]},
    {"id": "seller-own-2", "quantities": [{"available_quantity": 3, "warehouse_code": "paris"}]},
]

#: Keyboard path from a focused RadioSet (first option highlighted) to each option.
CHOOSE: dict[str, tuple[str, ...]] = {
    "keep": ("enter",),
    "deactivate": ("down", "enter"),
    "delete": ("down", "down", "enter"),
}


async def synced_world(
    home: Path, *, catalog_size: int = 40, interval: float = 0.02, warehouse: str = "lyon"
) -> World:
    """Both accounts authorized, products pushed by a real sync, and foreign products seeded."""
    world = make_world(home, catalog_size=catalog_size, interval=interval)
    await world.connect()
    save_options(world.engine, ProductOptions(sync_products=True, warehouse_code=warehouse))
    report = await run_sync(world.engine)
    assert report.pushed > 0
    world.mirakl.seed(FOREIGN)
    return world


def connector_ids(world: World) -> list[str]:
    return [row.mirakl_id for row in world.engine.store.iter_linked()]


def keys(text: str) -> list[str]:
    """Key names that type `text` (Pilot names the space bar `space`)."""
    return ["space" if char == " " else char for char in text]


class AuthorizeStandIn(Screen[None]):
    """What the host shows after a disconnect, like the App's Authorize Mirakl Connect."""

    def compose(self) -> ComposeResult:
        yield Static("Authorize Mirakl Connect")


class AccountHost(MiraklWooApp):
    """The app opened on the Account screen (it runs the disconnect's runner and follows its
    journal); a receipt is recorded, and a stand-in for Authorize Mirakl Connect shown."""

    CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))  # the app's own styles

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.receipts: list[Any] = []

    def screen_for_state(self) -> Screen[Any]:
        return AccountScreen()

    def on_disconnected(self, message: Disconnected) -> None:
        message.stop()
        self.receipts.append(message.receipt)
        self.show(AuthorizeStandIn())
        self.forget_kept_screens()


def account(app: App[Any]) -> AccountScreen:
    screen = app.screen
    assert isinstance(screen, AccountScreen), screen
    return screen


def modal(app: App[Any]) -> DisconnectModal:
    screen = app.screen
    assert isinstance(screen, DisconnectModal), screen
    return screen


def go_button(app: App[Any]) -> Button:
    return modal(app).query_one("#go", Button)


async def fill_modal(pilot: Pilot[Any], option: str | None, text: str) -> None:
    """From the Account screen: `d`, pick `option` (None: leave it), tab, type `text`."""
    await pilot.press("d")
    await pilot.pause()
    if option is not None:
        await pilot.press(*CHOOSE[option])
    await pilot.press("tab", *keys(text))
    await pilot.pause()


def products_snapshot(world: World) -> dict[str, Any]:
    """A deep copy of the Mirakl Connect sandbox catalog, to compare before and after."""
    return copy.deepcopy(world.mirakl.products)


def receipt_text(app: Any) -> str:
    """The receipt shown after a disconnect (asserting it is shown)."""
    from textual.widgets import Static

    from tui.screens.receipt import ReceiptScreen

    assert isinstance(app.screen, ReceiptScreen), type(app.screen).__name__
    return str(app.screen.query_one("#receipt", Static).content)


async def read_receipt(pilot: Any) -> str:
    """Read the receipt, press Enter: a fresh Authorize Mirakl Connect screen follows."""
    from tui.screens.authorize_mirakl import AuthorizeMiraklScreen

    for _ in range(100):  # shown, and built (a screen just pushed has no widgets yet)
        if pilot.app.screen.query("#receipt"):
            break
        await pilot.pause(0.05)
    text = receipt_text(pilot.app)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, AuthorizeMiraklScreen), type(pilot.app.screen).__name__
    return text
