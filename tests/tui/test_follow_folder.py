"""An open app follows what another process does to the data folder (a `sync`, a
`disconnect`, a `connect` typed in another terminal): here that process is a second engine
with its own SQLite connection, as another mirakl-woo process has."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Static

from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.secret import Secret
from connector.services import disconnect, onboarding
from connector.services.sync import run_sync
from tests.sandboxes import World
from tests.tui.account_helpers import read_receipt
from tests.tui.conftest import SIZE, screen_name
from tui.app import MiraklWooApp
from tui.screens.overview import OverviewScreen


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the app did not follow in time"
        await pilot.pause(0.05)


def text(app: MiraklWooApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def test_a_sync_done_elsewhere_shows_on_the_open_overview(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert "never" in text(app, "#last-sync")
        other = connected.another_engine()
        try:
            await run_sync(other)  # `mirakl-woo sync` in another terminal
        finally:
            other.close()
        pushed = len(connected.mirakl.products)
        await until(pilot, lambda: f"{pushed} pushed" in text(app, "#products"))
        assert "never" not in text(app, "#last-sync")
        assert screen_name(app) == "OverviewScreen"


async def test_a_disconnect_done_elsewhere_takes_the_app_to_authorize(connected: World) -> None:
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # on the Account screen, both accounts shown
        other = connected.another_engine()
        await disconnect.run_disconnect(other, "keep", disconnect.CONFIRM_WORD)
        await until(pilot, lambda: screen_name(app) == "ReceiptScreen")
        assert not connected.engine.settings.home.exists()  # the app brought nothing back
        await pilot.pause(app.follow_interval * 3)  # said once: still the same receipt
        assert "another mirakl-woo process" in (await read_receipt(pilot)).lower()
        await pilot.press("o")  # the keys answer: nothing to show without accounts
        assert screen_name(app) == "AuthorizeMiraklScreen"


async def test_an_account_authorized_elsewhere_moves_the_app_on(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert screen_name(app) == "AuthorizeMiraklScreen"
        other = world.another_engine()
        try:
            await onboarding.connect_mirakl(other, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
        finally:
            other.close()
        await until(pilot, lambda: screen_name(app) == "AuthorizeWooScreen")
        assert "Demo Seller Co." in app.sub_title


async def test_the_app_own_work_is_not_taken_for_another_process(connected: World) -> None:
    """A sync run by the app itself commits through its own connection: no re-route, no
    second progress view, the result shown once."""
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: not app.sync_running, seconds=20)
        await asyncio.sleep(app.follow_interval * 3)
        await pilot.pause()
        assert app.job_watch is None
        assert screen_name(app) == "OverviewScreen"
        assert app.folder_watch.poll() is None


async def test_a_change_seen_while_a_screen_is_still_composing_waits_for_it(
    connected: World,
) -> None:
    """Another process's commit can be noticed at any poll, even the instant a new screen is
    pushed and not yet built (a loaded machine, a slow start): that screen reads the state
    once shown, and nothing fails."""
    app = MiraklWooApp(connected.engine)
    async with app.run_test(size=SIZE) as pilot:
        other = connected.another_engine()
        try:
            await run_sync(other)
        finally:
            other.close()
        app.push_screen(OverviewScreen())  # current at once, composed a moment later
        app._follow_folder()  # the poll that notices the sync done elsewhere
        await pilot.pause()
        pushed = len(connected.mirakl.products)
        assert f"{pushed} pushed" in text(app, "#products")
