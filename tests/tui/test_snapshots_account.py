"""Snapshots of the Account screen, the Disconnect modal (empty, filled, at 60×18), the
progress view mid-job and the Authorize screen after a disconnect.

Deterministic: the sandbox catalog is seeded, the stored times are fixed, the engine in
the app uses Mirakl Connect's real one-minute interval (so the modal's ETA is what a
merchant would read) and no Input cursor blinks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from connector.engine import MIRAKL, Engine
from connector.events import Activity, Progress, Waiting
from tests.tui.account_helpers import CHOOSE, account, keys, synced_world
from tests.tui.conftest import settle
from tui.app import MiraklWooApp
from tui.widgets.job_progress import JobProgress

FIXED_TIME = "2025-01-15T09:30:00Z"
CATALOG = 1000  # about 1 200 products with variations: two batches, so the ETA is minutes

SnapCompare = Callable[..., bool]


def frozen_engine(home: Path) -> Engine:
    """A connected, synced data folder with fixed times, opened with a 60 s interval."""
    world = asyncio.run(synced_world(home, catalog_size=CATALOG))
    store = world.engine.store
    mirakl = store.account(MIRAKL)
    assert mirakl is not None
    store.save_account(MIRAKL, {**mirakl.details, "token_expires_at": "2099-01-01T00:00:00Z"})
    with store.transaction() as db:
        db.execute("UPDATE accounts SET connected_at = ?", (FIXED_TIME,))
        db.execute("UPDATE activity SET at = ?", (FIXED_TIME,))
    world.engine.close()
    return Engine(
        dataclasses.replace(world.engine.settings, min_interval=60.0),
        mirakl_transport=world.engine.mirakl_transport,
        woo_transport=world.engine.woo_transport,
        client_options=world.engine.client_options,
    )


def steps(*groups: tuple[str, ...] | list[str]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that presses each group of keys, then stops every cursor blinking."""

    async def run(pilot: Pilot[Any]) -> None:
        for group in groups:
            await pilot.press(*group)
            await pilot.pause()
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    return run


def test_account_screen(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    assert snap_compare(app, run_before=steps(["a"]))


def test_modal_empty(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    assert snap_compare(app, run_before=steps(["a"], ["d"]))


def test_modal_filled(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    filled = steps(["a"], ["d"], CHOOSE["deactivate"], ["tab", *keys("disconnect")])
    assert snap_compare(app, run_before=filled)


def test_modal_wrong_word(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    wrong = steps(["a"], ["d"], CHOOSE["delete"], ["tab", *keys("DISCONNECT")])
    assert snap_compare(app, run_before=wrong)


def test_modal_scrolls_on_a_small_terminal(
    snap_compare: SnapCompare, mirakl_woo_home: Path
) -> None:
    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    assert snap_compare(app, run_before=steps(["a"], ["d"]), terminal_size=(60, 18))


def test_progress_mid_job(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    """The progress view as a 5 000-product deactivate shows it at 2 000, state set directly."""

    async def mid_job(pilot: Pilot[Any]) -> None:
        await pilot.press("a")
        await pilot.pause()
        screen = account(pilot.app)
        screen.busy = True  # locked, as while the worker runs
        progress = screen.query_one(JobProgress)
        progress.start("Disconnect: Deactivate Products")
        for event in (
            Progress("disconnect", "deactivating products", 0, 5000, 240.6),
            Activity("1,000 products set to 0 on Mirakl Connect (1,000/5,000)."),
            Activity("1,000 products set to 0 on Mirakl Connect (2,000/5,000)."),
            Progress("disconnect", "deactivating products", 2000, 5000, 180.4),
            Waiting("upsert", 58.0),
        ):
            progress.handle(event)
        progress.flush()
        await pilot.pause()

    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    assert snap_compare(app, run_before=mid_job)


def test_receipt_after_disconnect(snap_compare: SnapCompare, mirakl_woo_home: Path) -> None:
    """Keep (no remote call): the receipt stays on screen until read."""

    async def disconnect(pilot: Pilot[Any]) -> None:
        await steps(["a"], ["d"], CHOOSE["keep"], ["tab", *keys("disconnect"), "enter"])(pilot)
        await settle(pilot)
        await pilot.pause()
        await steps()(pilot)

    app = MiraklWooApp(frozen_engine(mirakl_woo_home))
    assert snap_compare(app, run_before=disconnect)
    assert not mirakl_woo_home.exists()
