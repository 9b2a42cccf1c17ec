"""The Account screen: what it tells the merchant about both accounts, what it never shows,
and the three ways to open Disconnect (header button, `d`, command palette)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Button, Static

from connector.engine import MIRAKL
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.services.status import status
from connector.store import Job
from tests.sandboxes import STORE_URL, make_world
from tests.tui.account_helpers import AccountHost, account, modal, synced_world
from tui.app import MiraklWooApp
from tui.screens.account import format_time, mask_client_id, pending_text, token_state
from tui.screens.disconnect_modal import format_duration, products

NOW = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)


def panel(app: App[Any], name: str) -> str:
    return str(account(app).query_one(f"#{name}-panel", Static).content)


async def test_shows_both_accounts(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        mirakl, woo = panel(app, "mirakl"), panel(app, "woo")
    current = status(world.engine)
    assert "Demo Seller Co." in mirakl
    assert f"{DEMO_CLIENT_ID[:4]}…" in mirakl
    assert "valid until" in mirakl
    assert mirakl.count(format_time(current["mirakl"]["connected_since"])) == 1
    assert "Demo Store" in woo and STORE_URL in woo
    assert "9.4.2" in woo
    assert f"…{DEMO_CONSUMER_KEY[-7:]} (read/write)" in woo
    assert "Connected since" in woo
    # Never the whole client id, and never a secret or a whole key.
    screen_text = mirakl + woo
    for secret in (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET):
        assert secret not in screen_text


async def test_an_expired_token_says_so(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    details = world.engine.store.account(MIRAKL).details  # type: ignore[union-attr]
    world.engine.store.save_account(MIRAKL, {**details, "token_expires_at": "2020-01-01T00:00Z"})
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "expired" in panel(app, "mirakl")


async def test_the_header_button_opens_the_modal(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused is account(app).query_one("#disconnect", Button)
        await pilot.press("enter")
        await pilot.pause()
        assert modal(app).plan.linked == world.engine.store.linked_count()


async def test_the_d_key_opens_the_modal_and_is_in_the_footer(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
        assert "d" in footer_keys
        await pilot.press("d")
        await pilot.pause()
        modal(app)
        # The modal has its own footer: the Account screen's `d` is not advertised there.
        modal_keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "d" not in modal_keys and "escape" in modal_keys


async def test_nothing_connected_greys_out_disconnect(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = account(app)
        assert panel(app, "mirakl") == "Not connected."
        assert screen.query_one("#disconnect", Button).disabled
        assert screen.check_action("disconnect", ()) is None
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is screen
    assert not mirakl_woo_home.exists()  # looking created nothing


def test_client_id_is_masked() -> None:
    assert mask_client_id("mirakl-woo-demo") == "mira…"
    assert mask_client_id(None) == "unknown"


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("2025-01-15T10:29:59Z", "valid until 2025-01-15 10:29 UTC"),
        (NOW.timestamp() + 3599, "valid until 2025-01-15 10:29 UTC"),
        ("2025-01-15T09:00:00Z", "expired (a new one is requested when needed)"),
        (None, "not requested yet"),
    ],
)
def test_token_state(expires_at: object, expected: str) -> None:
    assert token_state(expires_at, NOW) == expected


def test_pending_text() -> None:
    job = Job(
        id=1,
        kind="disconnect",
        params={"option": "deactivate"},
        state="interrupted",
        step="deactivating products",
        done=2000,
        total=5000,
        error=None,
        created_at="2025-01-15T09:30:00Z",
        updated_at="2025-01-15T09:31:00Z",
    )
    assert (
        pending_text(job)
        == "A disconnect (Deactivate Products) stopped at 2,000 of 5,000 products."
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "under a minute"),
        (59, "under a minute"),
        (121, "about 2 min"),
        (3900, "about 1 h 05 min"),
    ],
)
def test_durations_read_like_people_say_them(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_product_counts() -> None:
    assert products(1) == "1 product"
    assert products(30000) == "30,000 products"


async def test_names_from_the_servers_are_never_markup(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    world.woo.store_name = "Shop [/] [b]Co"  # a store may be called anything
    world.mirakl.company_name = "[red]Seller[/red"
    await world.connect()
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert "Shop [/] [b]Co" in panel(app, "woo")
        assert "[red]Seller[/red" in panel(app, "mirakl")
        await pilot.press("d")
        await pilot.pause()
        assert "Shop [/] [b]Co" in str(modal(app).query_one("#what-happens", Static).content)
