"""The TUI against the in-process sandboxes: an Engine whose clients reach the sandbox ASGI apps
through httpx.ASGITransport, a real SQLite store in the test's own data folder."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from textual.worker import WorkerCancelled

from connector.engine import Engine
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_COMPANY_ID
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.secret import Secret
from connector.services import onboarding
from tests.sandboxes import STORE_URL, World, make_world
from tui.app import MiraklWooApp

#: What `mirakl-woo demo` passes to the app, with the in-process store's URL.
DEMO: dict[str, str] = {
    "mirakl_client_id": DEMO_CLIENT_ID,
    "mirakl_client_secret": DEMO_CLIENT_SECRET,
    "mirakl_company_id": DEMO_COMPANY_ID,
    "woo_url": STORE_URL,
    "woo_consumer_key": DEMO_CONSUMER_KEY,
    "woo_consumer_secret": DEMO_CONSUMER_SECRET,
}
FIXED_TIME = "2025-01-15T09:30:00Z"
SIZE = (80, 24)


@pytest.fixture
def world(mirakl_woo_home: Path) -> Iterator[World]:
    """Both sandboxes (a 50-product store) and an engine wired to them; nothing connected."""
    world = make_world(mirakl_woo_home, catalog_size=50, interval=0.05)
    yield world
    world.engine.close()


@pytest.fixture
def engine(world: World) -> Engine:
    return world.engine


async def connect(world: World, *, sync_on: bool = True, mirakl_only: bool = False) -> None:
    """Authorize through the real onboarding service."""
    if mirakl_only:
        await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
    else:
        await world.connect(sync_on=sync_on)


def connect_now(world: World, *, sync_on: bool = True, mirakl_only: bool = False) -> None:
    """`connect` for synchronous tests (snapshots run the app in their own loop)."""
    asyncio.run(connect(world, sync_on=sync_on, mirakl_only=mirakl_only))


def freeze_times(engine: Engine) -> None:
    """Snapshots show no clock: every stored time becomes one fixed instant."""
    with engine.store.transaction() as db:
        db.execute("UPDATE accounts SET connected_at = ?", (FIXED_TIME,))
        db.execute("UPDATE activity SET at = ?", (FIXED_TIME,))
    last_sync = engine.store.get_setting("last_sync")
    if last_sync:
        engine.store.set_setting("last_sync", {**last_sync, "finished_at": FIXED_TIME})


@pytest.fixture
async def connected(world: World) -> World:
    """Both accounts authorized, Sync Product on."""
    await connect(world)
    return world


def drawn_keys(app: MiraklWooApp) -> dict[str, bool]:
    """The keys the current screen's footer has drawn (its widgets, not the bindings it
    would draw): key → enabled."""
    return {key.key: not key._disabled for key in app.screen.query(FooterKey)}


def screen_name(app: MiraklWooApp) -> str:
    return type(app.screen).__name__


async def settle(pilot: Pilot[None], seconds: float = 60.0) -> None:
    """Let every job finish (the workers, and the runner the app watches), then let the
    screen catch up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    for _ in range(2):
        with suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        while getattr(pilot.app, "job_watch", None) is not None:
            assert loop.time() < deadline, "the job the app watches did not end"
            await asyncio.sleep(0.02)
        await pilot.pause()


async def paste(pilot: Pilot[None], text: str) -> None:
    """What a terminal sends when the user pastes (bracketed paste) into the focused widget."""
    focused = pilot.app.focused
    assert focused is not None
    focused.post_message(events.Paste(text))
    await pilot.pause()


async def no_blink(pilot: Pilot[None]) -> None:
    """A snapshot must not depend on where the cursor blink is."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()
