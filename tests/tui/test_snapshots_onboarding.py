"""Snapshots of the onboarding and sync screens at 80x24 (and one at 60x20).

Deterministic: every stored time is pinned (`freeze_times`), the data folder never shows,
the cursor does not blink. Regenerate with `pytest tests/tui --snapshot-update` and look at
the report before committing the new SVGs.
"""

from __future__ import annotations

import asyncio

from connector.services.sync import run_sync
from tests.sandboxes import World
from tests.tui.conftest import DEMO, connect_now, freeze_times, no_blink
from tui.app import MiraklWooApp


def test_authorize_mirakl(world: World, snap_compare) -> None:
    assert snap_compare(MiraklWooApp(world.engine), run_before=no_blink)


def test_authorize_mirakl_demo_prefilled(world: World, snap_compare) -> None:
    assert snap_compare(MiraklWooApp(world.engine, demo=DEMO), run_before=no_blink)


def test_authorize_mirakl_error(world: World, snap_compare) -> None:
    app = MiraklWooApp(world.engine)
    assert snap_compare(app, press=["tab", *"nope", "enter"], run_before=no_blink)


def test_authorize_woocommerce(world: World, snap_compare) -> None:
    connect_now(world, mirakl_only=True)
    freeze_times(world.engine)
    assert snap_compare(MiraklWooApp(world.engine, demo=DEMO), run_before=no_blink)


def test_overview_before_the_first_sync(world: World, snap_compare) -> None:
    connect_now(world)
    freeze_times(world.engine)
    assert snap_compare(MiraklWooApp(world.engine))


def _synced(world: World) -> MiraklWooApp:
    connect_now(world)
    asyncio.run(run_sync(world.engine))
    freeze_times(world.engine)
    return MiraklWooApp(world.engine)


def test_overview_after_a_sync(world: World, snap_compare) -> None:
    assert snap_compare(_synced(world))


def test_overview_after_a_sync_small_terminal(world: World, snap_compare) -> None:
    assert snap_compare(_synced(world), terminal_size=(60, 20))


def test_product_settings(world: World, snap_compare) -> None:
    connect_now(world)
    freeze_times(world.engine)
    assert snap_compare(MiraklWooApp(world.engine), press=["p"], run_before=no_blink)


def test_product_settings_invalid_stock(world: World, snap_compare) -> None:
    connect_now(world)
    freeze_times(world.engine)
    app = MiraklWooApp(world.engine)
    keys = ["p", "tab", "tab", "tab", "tab", "tab", "ctrl+a", "ctrl+k", "-", "1", "enter"]
    assert snap_compare(app, press=keys, run_before=no_blink)
