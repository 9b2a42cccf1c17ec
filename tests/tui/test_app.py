"""The App: the screen each state calls for, routing messages, palette, quit and SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal

from textual.command import CommandList, CommandPalette
from textual.widgets import Footer, Static

from connector.services import disconnect
from tests.sandboxes import World
from tests.tui.conftest import SIZE, connect, settle
from tui.app import MiraklWooApp, account_screen_class
from tui.messages import Disconnected
from tui.screens.authorize_mirakl import AuthorizeMiraklScreen
from tui.screens.authorize_woocommerce import AuthorizeWooScreen
from tui.screens.overview import OverviewScreen
from tui.screens.product_settings import ProductSettingsScreen
from tui.screens.receipt import ReceiptScreen


def palette_titles(app: MiraklWooApp) -> list[str]:
    commands = app.screen.query_one(CommandList)
    return [str(commands.get_option_at_index(i).hit.text) for i in range(commands.option_count)]


async def test_fresh_install_opens_on_authorize_mirakl(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, AuthorizeMiraklScreen)
        assert app.title == "mirakl-woo"
        assert app.sub_title == "not connected"
        # nothing to navigate to yet: the footer does not offer it
        assert not {"o", "p", "a", "s"} & set(app.screen.active_bindings)
    assert world.engine.peek_store() is None  # opening the app wrote nothing


async def test_mirakl_only_opens_on_authorize_woocommerce(world: World) -> None:
    await connect(world, mirakl_only=True)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, AuthorizeWooScreen)
        assert "no store yet" in app.sub_title


async def test_both_accounts_open_on_the_overview(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, OverviewScreen)
        assert app.screen.query_one(Footer)
        await pilot.press("p")
        assert isinstance(app.screen, ProductSettingsScreen)
        await pilot.press("o")
        assert isinstance(app.screen, OverviewScreen)


async def test_an_unfinished_disconnect_opens_the_account_screen(connected: World) -> None:
    account = account_screen_class()
    store = connected.engine.store
    job = store.create_job("disconnect", {"option": "keep"}, total=0)
    store.update_job(job.id, state="interrupted")
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, account)


async def test_a_disconnect_shows_the_receipt_and_a_fresh_authorize_screen(
    connected: World,
) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        before = app.screen
        receipt = await disconnect.run_disconnect(connected.engine, "keep", disconnect.CONFIRM_WORD)
        app.post_message(Disconnected(receipt))
        await settle(pilot)
        # The receipt stays (a screen, not a toast) until read...
        assert isinstance(app.screen, ReceiptScreen)
        shown = str(app.screen.query_one("#receipt", Static).content)
        assert "Disconnected." in shown
        assert "…" + receipt.key_last7 in shown  # which key to revoke
        await pilot.pause(1.0)
        assert isinstance(app.screen, ReceiptScreen)
        await pilot.press("enter")  # ...then a fresh Authorize Mirakl Connect
        assert isinstance(app.screen, AuthorizeMiraklScreen) and app.screen is not before
        assert app.sub_title == "not connected"


async def test_the_palette_lists_every_screen_and_action(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        titles = palette_titles(app)
        for title in ("Overview", "Product settings", "Sync now"):
            assert title in titles
        assert "Account" in titles and "Disconnect" in titles
        await pilot.press(*"product", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ProductSettingsScreen)


async def test_the_palette_offers_authorize_before_anything_is_connected(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        titles = palette_titles(app)
        assert "Authorize Mirakl Connect" in titles and "Authorize" in titles
        assert "Sync now" not in titles and "Overview" not in titles


async def test_ctrl_q_quits(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app._exit
    assert app.return_code == 0


async def test_sighup_ends_the_app_cleanly(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        loop = asyncio.get_running_loop()
        handlers = getattr(loop, "_signal_handlers", {})
        assert signal.SIGHUP in handlers  # or the signal below would end the test run
        os.kill(os.getpid(), signal.SIGHUP)
        await pilot.pause(0.1)
        assert app._exit
    assert app.return_code == 0  # ended normally, no exception
