"""The whole disconnect, keyboard only, in the real App against the sandboxes: each option,
the lock while it runs, an error from Mirakl Connect mid-way and Retry, and Resume of a
disconnect an earlier run left unfinished."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Static

from connector.errors import ConnectorError
from connector.services import disconnect
from connector.services.status import status
from tests.sandboxes import World
from tests.tui.account_helpers import (
    FOREIGN,
    AccountHost,
    account,
    connector_ids,
    fill_modal,
    keys,
    modal,
    products_snapshot,
    read_receipt,
    synced_world,
)
from tests.tui.conftest import settle as settle_jobs
from tui.app import MiraklWooApp
from tui.screens.authorize_mirakl import AuthorizeMiraklScreen
from tui.screens.disconnect_modal import DisconnectModal

SIZE = (80, 24)
WAREHOUSE = "lyon"


async def settle(pilot: Pilot[Any]) -> None:
    """Let the disconnect's runner finish and the App act on how it ended."""
    await settle_jobs(pilot)
    await pilot.pause()


def foreign_intact(world: World) -> bool:
    return all(world.mirakl.products.get(p["id"]) == p for p in FOREIGN)


def accepted_calls(world: World, operation: str) -> list[Any]:
    return [c for c in world.mirakl.calls_of(operation) if c.status == 202]


async def fail_after_first_batch(world: World) -> None:
    """Mirakl Connect goes away once it accepted the first delete batch (polled from the
    sandbox's own call log, independently of the app)."""
    async with asyncio.timeout(5):
        while not accepted_calls(world, "delete"):
            await asyncio.sleep(0.002)
    world.mirakl_faults.error_rate = 1.0


async def open_account(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    await pilot.pause()
    account(pilot.app)


@pytest.mark.parametrize("option", ["keep", "deactivate", "delete"])
async def test_each_option_end_to_end(mirakl_woo_home: Path, option: str) -> None:
    world = await synced_world(mirakl_woo_home, warehouse=WAREHOUSE)
    ids = connector_ids(world)
    before = products_snapshot(world)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await open_account(pilot)
        await fill_modal(pilot, option, "disconnect")
        await pilot.press("enter")
        await settle(pilot)
        # The App handled Disconnected: the receipt, then a fresh Authorize screen.
        await read_receipt(pilot)
        assert isinstance(app.screen, AuthorizeMiraklScreen)
        assert "not connected" in app.sub_title

    products = world.mirakl.products
    if option == "keep":
        assert products == before
    elif option == "deactivate":
        for mirakl_id in ids:
            quantities = products[mirakl_id]["quantities"]
            assert {q.get("warehouse_code") for q in quantities} == {WAREHOUSE}
            assert all(q["available_quantity"] == 0 for q in quantities)
    else:
        assert not set(ids) & set(products)
    assert foreign_intact(world)
    # Everything the connector kept on this computer is gone.
    assert not mirakl_woo_home.exists()
    assert status(world.engine)["mirakl"] is None


async def test_the_host_receives_the_receipt(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    ids = connector_ids(world)
    key_last7 = status(world.engine)["woocommerce"]["key_last7"]
    app = AccountHost(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await fill_modal(pilot, "delete", "  disconnect  ")
        await pilot.press("enter")
        await settle(pilot)
    [receipt] = app.receipts
    assert receipt.option == "delete"
    assert receipt.changed == len(ids)
    assert key_last7 in receipt.revoke_hint
    assert not set(ids) & set(world.mirakl.products)
    assert not mirakl_woo_home.exists()


async def test_error_mid_way_keeps_everything_and_retry_finishes(mirakl_woo_home: Path) -> None:
    # 900 store products (more with variations): two batches, 0.15 s apart.
    world = await synced_world(mirakl_woo_home, catalog_size=900, interval=0.15)
    ids = connector_ids(world)
    assert len(ids) > 1000
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await open_account(pilot)
        await fill_modal(pilot, "delete", "disconnect")
        outage = asyncio.create_task(fail_after_first_batch(world))
        await pilot.press("enter")
        await outage
        screen = account(app)
        # Locked while it runs: keys greyed out, the App does not route away.
        assert screen.busy and screen.navigation_locked
        assert screen.check_action("disconnect", ()) is None
        assert app.check_action("overview", ()) is None
        assert screen.query_one("#disconnect", Button).disabled
        await pilot.press("o")
        assert app.screen is screen

        await settle(pilot)
        assert app.screen is screen and not screen.busy
        job = world.engine.store.open_job("disconnect")
        assert job is not None and job.state == "failed" and job.done == 1000
        shown = str(screen.query_one("#failure-text", Static).content)
        assert job.error and job.error in shown
        assert "Nothing was deleted" in shown
        # Everything kept: both accounts, the ledger, the journal.
        current = status(world.engine)
        assert current["mirakl"] and current["woocommerce"]
        assert connector_ids(world) == ids
        assert mirakl_woo_home.exists()
        assert foreign_intact(world)

        world.mirakl_faults.error_rate = 0.0
        retry = screen.query_one("#retry", Button)
        assert app.focused is retry
        await pilot.press("enter")
        await settle(pilot)
        await read_receipt(pilot)
    assert not set(ids) & set(world.mirakl.products)
    assert foreign_intact(world)
    assert not mirakl_woo_home.exists()
    # No batch was sent twice: every connector product deleted exactly once.
    assert sum(c.items for c in accepted_calls(world, "delete")) == len(ids)


async def test_an_unfinished_disconnect_is_offered_to_resume(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home, catalog_size=1600, interval=0.1)
    ids = connector_ids(world)
    upserts_before = len(accepted_calls(world, "upsert"))

    def fail_after_first_batch(event: object) -> None:
        if getattr(event, "done", 0) >= 1000:
            world.mirakl_faults.error_rate = 1.0

    with pytest.raises(ConnectorError):
        await disconnect.run_disconnect(
            world.engine, "deactivate", "disconnect", on_event=fail_after_first_batch
        )
    world.mirakl_faults.error_rate = 0.0

    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = account(app)  # the App opens on the unfinished disconnect
        text = str(screen.query_one("#pending-text", Static).content)
        assert text == (
            f"A disconnect (Deactivate Products) stopped at 1,000 of "
            f"{len(ids):,} products."
        )
        # A different option cannot start over it: `d` says to resume or cancel it first.
        assert app.focused is screen.query_one("#resume", Button)
        screen.action_disconnect()
        await pilot.pause()
        assert not isinstance(app.screen, DisconnectModal)
        assert any("resume it, or cancel it" in n.message for n in app._notifications)
        await pilot.press("enter")
        await settle(pilot)
        await read_receipt(pilot)
    for mirakl_id in ids:
        quantities = world.mirakl.products[mirakl_id]["quantities"]
        assert all(q["available_quantity"] == 0 for q in quantities)
    assert foreign_intact(world)
    assert not mirakl_woo_home.exists()
    # The batch recorded before the stop was not sent again.
    accepted = accepted_calls(world, "upsert")[upserts_before:]
    assert sum(c.items for c in accepted) == len(ids)


async def test_the_command_palette_opens_the_modal(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await open_account(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*keys("Disconnect"))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DisconnectModal)
        modal(app)
        await pilot.press("escape")
        await pilot.pause()
        account(app)
    assert status(world.engine)["job"] is None


async def test_a_disconnect_stopped_mid_way_can_be_cancelled_to_stay_connected(
    mirakl_woo_home: Path,
) -> None:
    """An SSH drop or an outage mid-way must not force the merchant to delist everything:
    Cancel keeps both accounts, the next sync puts the deleted products back, and another
    option can be chosen."""
    world = await synced_world(mirakl_woo_home, catalog_size=900, interval=0.15)
    ids = connector_ids(world)
    before = products_snapshot(world)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await open_account(pilot)
        await fill_modal(pilot, "delete", "disconnect")
        outage = asyncio.create_task(fail_after_first_batch(world))
        await pilot.press("enter")
        await outage
        await settle(pilot)
        screen = account(app)
        assert len(world.mirakl.products) == len(before) - 1000  # the first batch went
        world.mirakl_faults.error_rate = 0.0

        await pilot.press("d")  # refused while unfinished, and says what to do
        assert not isinstance(app.screen, DisconnectModal)
        assert any("cancel it to stay connected" in n.message for n in app._notifications)
        cancel = screen.query_one("#cancel-failed", Button)
        assert cancel.display and not cancel.disabled
        cancel.focus()
        await pilot.press("enter")
        await pilot.pause()

        told = [n.message for n in app._notifications if n.title == "Disconnect cancelled"]
        assert told and "1,000 products it had deleted" in told[0] and "next sync" in told[0]
        assert world.engine.store.open_job() is None
        current = status(world.engine)
        assert current["mirakl"] and current["woocommerce"]
        assert not screen.has_class("-failed") and not screen.has_class("-pending")

        await pilot.press("o", "s")  # the next sync restores what the disconnect deleted
        await settle(pilot)
        assert connector_ids(world) == ids
        assert products_snapshot(world) == before
        assert foreign_intact(world)

        await pilot.press("a", "d")  # and another option may run now
        await pilot.pause()
        assert isinstance(app.screen, DisconnectModal)
