"""Overview and Product settings are built once and kept: going back and forth is a repaint,
what they show stays true, nothing of a removed widget stays in memory, and a disconnect
drops them."""

from __future__ import annotations

import gc

from textual.widget import Widget
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from connector.services import disconnect
from connector.services.sync import load_options
from tests.sandboxes import World
from tests.tui.account_helpers import read_receipt
from tests.tui.conftest import SIZE, connect, drawn_keys, settle
from tui.app import MiraklWooApp
from tui.messages import Disconnected
from tui.screens.overview import OverviewScreen
from tui.screens.product_settings import ProductSettingsScreen


def detached_widgets() -> list[Widget]:
    """Widgets still in memory though no longer on any screen."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, Widget) and not o.is_attached]


async def test_going_back_and_forth_shows_the_same_screens(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        await pilot.press("p")
        settings = app.screen
        assert isinstance(settings, ProductSettingsScreen)
        for _ in range(3):
            await pilot.press("o")
            assert app.screen is overview
            await pilot.press("p")
            assert app.screen is settings


async def test_switching_leaves_no_removed_widget_in_memory(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "o")
        await pilot.pause()
        before = len(detached_widgets())
        for _ in range(20):
            await pilot.press("p", "o")
        await pilot.pause()
        assert len(detached_widgets()) <= before
        # Each kept screen has one footer: its keys are all that exist.
        gc.collect()
        keys = [o for o in gc.get_objects() if isinstance(o, FooterKey)]
        assert all(key.is_attached for key in keys)


async def test_a_screen_shown_again_tells_the_state_of_now(connected: World) -> None:
    connected.mirakl_faults.latency = 0.5  # each Mirakl Connect call takes 0.5 s
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert drawn_keys(app)["s"] is True
        await pilot.press("p", "s")  # Sync Product from the settings
        assert app.sync_running
        await pilot.press("o")
        keys = drawn_keys(app)
        assert keys["s"] is False  # no second sync while one runs
        assert "b" not in keys and keys["x"] is True  # it runs in a runner already: Stop
        assert app.screen.query_one("#sync-progress").display
        await settle(pilot)
        await pilot.press("p", "o")
        keys = drawn_keys(app)
        assert keys["s"] is True and "b" not in keys
        pushed = connected.engine.store.ledger_counts()["pushed"]
        assert f"{pushed} pushed" in str(app.screen.query_one("#products", Static).content)
        # The footers were rebuilt as the keys changed: the old keys are gone from memory.
        assert not [w for w in detached_widgets() if isinstance(w, FooterKey)]


async def test_settings_left_unsaved_are_not_shown_as_saved(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        app.screen.query_one("#stock", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"999", "tab")  # typed, not saved
        await pilot.press("o", "p")
        stock = app.screen.query_one("#stock", Input)
        assert stock.value == str(load_options(connected.engine).unmanaged_stock)  # as saved
        stock.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"7", "enter", "tab")  # saved this time
        assert "saved" in str(app.screen.query_one("#settings-saved", Static).content)
        await pilot.press("o", "p")
        assert app.screen.query_one("#stock", Input).value == "7"
        assert not app.screen.query_one("#settings-saved", Static).display  # old news


async def test_a_disconnect_drops_the_kept_screens(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "o")
        old = (app.get_screen("overview"), app.get_screen("product_settings"))
        receipt = await disconnect.run_disconnect(connected.engine, "keep", disconnect.CONFIRM_WORD)
        app.post_message(Disconnected(receipt))
        await settle(pilot)
        await read_receipt(pilot)
        assert not app.is_screen_installed("overview")
        assert not app.is_screen_installed("product_settings")
        assert not any(screen.is_attached for screen in old)
        await connect(connected)
        app.route()
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen) and app.screen not in old


async def test_the_garbage_collector_is_left_as_it_was_found(connected: World) -> None:
    before = gc.get_threshold()
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "o")
        await pilot.pause()
        assert gc.get_freeze_count() > 0  # the app's own objects, out of the collector's way
        assert gc.get_threshold()[2] > before[2]  # fewer full collections while it runs
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_an_app_started_without_the_collector_turns_it_on_after_its_first_frame(
    world: World,
) -> None:
    """`mirakl-woo` starts the app with the collector off (a faster start). Here the app
    stays on Authorize Mirakl Connect (no kept screen): the collector still comes back after
    the first frame, and what the app froze is let go when it exits."""
    gc.disable()
    try:
        app = MiraklWooApp(world.engine)
        async with app.run_test(size=SIZE) as pilot:
            while not app.first_frame_shown:
                await pilot.pause(0.01)
            assert type(app.screen).__name__ == "AuthorizeMiraklScreen"
            assert gc.isenabled() and gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
        gc.unfreeze()


async def test_a_kept_screen_follows_a_theme_changed_while_it_was_hidden(
    connected: World,
) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        overview = app.screen
        dark = overview.styles.background
        await pilot.press("p")
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert app.screen is overview
        assert overview.styles.background != dark
        assert overview.styles.background == app.screen_stack[0].styles.background
