"""Overview and Product Settings, keyboard only, against the in-process sandboxes."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, RadioSet, Static, Switch

from connector.services import disconnect
from connector.services.sync import load_options, run_sync
from tests.sandboxes import World, make_world
from tests.tui.conftest import SIZE, connect, settle
from tui.app import MiraklWooApp
from tui.screens.disconnect_modal import option_texts
from tui.screens.overview import OverviewScreen
from tui.screens.product_settings import ProductSettingsScreen
from tui.widgets.job_progress import JobProgress


def text(app: MiraklWooApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def test_overview_shows_both_accounts_and_an_empty_ledger(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE):
        accounts = text(app, "#accounts")
        assert "Mirakl Connect" in accounts and "WooCommerce" in accounts
        assert "https://shop.test" in accounts
        assert "0 pushed" in text(app, "#products")
        assert "never" in text(app, "#last-sync")
        assert "authorized" in text(app, "#activity")


async def test_sync_now_fills_the_ledger_and_the_overview(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await settle(pilot)
        counts = connected.engine.store.ledger_counts()
        assert counts["pushed"] > 0
        assert counts["pushed"] == len(connected.mirakl.products)
        assert f"{counts['pushed']} pushed" in text(app, "#products")
        assert f"{counts['skipped']} skipped" in text(app, "#products")
        assert "skipped: no SKU" in text(app, "#products")  # with the reason
        assert "pushed" in text(app, "#last-sync")
        progress = app.screen.query_one("#sync-progress", JobProgress)
        assert progress.finished and progress.display
        assert any(line.startswith("Done:") for line in progress.lines)
        assert "Sync done" in text(app, "#activity")


async def test_the_screen_answers_keys_while_the_sync_runs(connected: World) -> None:
    connected.mirakl_faults.latency = 0.8  # every Mirakl Connect call takes 0.8 s
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        assert app.sync_running
        await pilot.press("p")
        assert isinstance(app.screen, ProductSettingsScreen)
        assert app.screen.query_one("#sync-now", Button).disabled  # one sync at a time
        assert app.sync_running  # the sync goes on while the merchant looks elsewhere
        await pilot.press("o")
        assert isinstance(app.screen, OverviewScreen)
        assert app.screen.query_one("#sync-progress", JobProgress).display  # shown again
        await settle(pilot)
        assert not app.sync_running
        pushed = connected.engine.store.ledger_counts()["pushed"]
        assert pushed > 0 and f"{pushed} pushed" in text(app, "#products")


async def test_sync_product_off_pushes_nothing(world: World) -> None:
    await connect(world, sync_on=False)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert "Off" in text(app, "#products")
        await pilot.press("s")
        await settle(pilot)
        progress = app.screen.query_one("#sync-progress", JobProgress)
        assert any("Sync Product is off" in line for line in progress.lines)
        assert world.engine.store.ledger_counts().get("pushed", 0) == 0
        assert world.mirakl.products == {}


async def test_the_sync_product_toggle_is_saved_at_once(world: World) -> None:
    await connect(world, sync_on=False)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        switch = app.screen.query_one("#sync-products", Switch)
        assert app.focused is switch and not switch.value
        await pilot.press("enter")
        assert load_options(world.engine).sync_products is True
        assert "On" in str(app.screen.query_one("#sync-state").render())
        await pilot.press("enter")
        assert load_options(world.engine).sync_products is False
        await pilot.press("enter")
    # a new app (a new process) shows what was saved
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert app.screen.query_one("#sync-products", Switch).value is True


async def test_settings_are_saved_with_the_keyboard(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        # switch → Published → Private: tick Private; then the stock field
        await pilot.press("tab", "tab", "space", "tab", "tab", "tab")
        assert app.focused is app.screen.query_one("#stock", Input)
        await pilot.press("ctrl+a", "ctrl+k", *"25", "tab")
        assert app.focused is app.screen.query_one("#price-mode", RadioSet)
        await pilot.press("down", "space", "tab", *"WH-1", "ctrl+s")
        options = load_options(connected.engine)
        assert options.statuses == ("publish", "private")
        assert options.unmanaged_stock == 25
        assert options.price_mode == "current"
        assert options.warehouse_code == "WH-1"
        assert options.sync_products is True
        assert "saved" in text(app, "#settings-saved")


async def test_invalid_settings_show_one_message_and_save_nothing(connected: World) -> None:
    before = load_options(connected.engine)
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        app.screen.query_one("#stock", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"lots", "enter")
        error = text(app, "#settings-error")
        assert error.startswith("Not saved:") and "whole number" in error
        assert error.count("\n") <= 1
        assert load_options(connected.engine) == before
        # no status at all is refused too
        app.screen.query_one("#status-publish", Checkbox).focus()
        await pilot.press("space", "ctrl+s")
        assert "at least one" in text(app, "#settings-error")
        assert load_options(connected.engine) == before


async def test_sync_product_button_saves_then_syncs(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        app.screen.query_one("#stock", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"7")
        app.screen.query_one("#sync-now", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert load_options(connected.engine).unmanaged_stock == 7
        assert connected.engine.store.ledger_counts()["pushed"] > 0
        assert app.screen.query_one("#sync-progress", JobProgress).finished


async def test_a_failing_sync_is_reported_and_the_app_goes_on(connected: World) -> None:
    connected.mirakl_faults.error_rate = 1.0  # Mirakl Connect answers 503 to everything
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await settle(pilot)
        assert not app.sync_running
        progress = app.screen.query_one("#sync-progress", JobProgress)
        assert any(line.startswith("Sync stopped:") for line in progress.lines)
        assert any(n.severity == "error" for n in app._notifications)
        connected.mirakl_faults.error_rate = 0.0
        await pilot.press("s")  # and it can run again
        await settle(pilot)
        assert connected.engine.store.ledger_counts()["pushed"] > 0


async def test_taking_over_the_sellers_own_products_is_an_opt_in(
    connected: World, tmp_path: Path
) -> None:
    reference = make_world(tmp_path / "reference", catalog_size=50, interval=0.05)
    await reference.connect()
    await run_sync(reference.engine)
    clashing = sorted(reference.mirakl.products)[:2]
    reference.engine.close()
    connected.mirakl.seed({"id": i, "quantities": [{"available_quantity": 7}]} for i in clashing)
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")  # off by default: left alone
        await settle(pilot)
        assert "2 skipped: already on Mirakl Connect" in text(app, "#products")
        assert connected.engine.store.ledger_row(clashing[0]) is None
        await pilot.press("p")
        app.screen.query_one("#take-over", Checkbox).focus()
        await pilot.press("space", "ctrl+s")
        assert load_options(connected.engine).take_over_existing is True
        await pilot.press("o", "s")
        await settle(pilot)
        assert "2 taken over" in text(app, "#products")
        assert connected.engine.store.ledger_row(clashing[0]).origin == "taken_over"
    plan = disconnect.plan(connected.engine)
    detail, explanation = option_texts("delete", plan)
    assert plan.taken_over == 2
    assert "2 products that were there before the connector" in explanation
    assert "not deleted" in explanation


async def test_each_setting_is_saved_as_it_changes(connected: World) -> None:
    """No Save needed: leaving the screen loses nothing, and a line says what was saved."""
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        app.screen.query_one("#stock", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"7")
        assert "Saved: Stock when WooCommerce does not manage it" in text(app, "#settings-saved")
        app.screen.query_one("#status-draft", Checkbox).focus()
        await pilot.press("space")
        assert "Saved: Statuses pushed" in text(app, "#settings-saved")
        await pilot.press("o")  # away, without Save
        options = load_options(connected.engine)
        assert options.unmanaged_stock == 7 and "draft" in options.statuses
        await pilot.press("p")
        assert app.screen.query_one("#stock", Input).value == "7"
        app.screen.query_one("#stock", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"x")  # not valid: said, not saved
        assert text(app, "#settings-error").startswith("Not saved:")
        assert load_options(connected.engine).unmanaged_stock == 7


async def test_the_counts_add_up_from_woocommerce_to_mirakl(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await settle(pilot)
        catalog = connected.woo.catalog
        owner: dict[str, int] = {}  # SKU on Mirakl Connect → the WooCommerce product behind it
        for product in catalog.iter_products():
            owner[product["sku"]] = product["id"]
            for variation in catalog.variations(product["id"]):
                owner.setdefault(variation["sku"], product["id"])
        on_mirakl = set(connected.mirakl.products)
        woo_products = len({owner[sku] for sku in on_mirakl})
        assert woo_products < len(on_mirakl)  # variable products make more than one
        shown = text(app, "#products")
        assert f"{woo_products} WooCommerce products → {len(on_mirakl)} Mirakl Connect" in shown
        assert "each variation is a product of its own" in shown


async def test_d_during_a_sync_says_why_it_waits(connected: World) -> None:
    connected.mirakl_faults.latency = 0.5
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        assert app.sync_running
        await pilot.press("a", "d")
        await pilot.pause()
        assert type(app.screen).__name__ == "AccountScreen"  # no modal over a running sync
        assert "A sync is running: Disconnect waits" in list(app._notifications)[-1].message
        await pilot.press("s")
        await pilot.pause()
        assert "A sync is running already" in list(app._notifications)[-1].message
        await settle(pilot)
