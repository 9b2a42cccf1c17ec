"""Both authorize screens, keyboard only: good credentials route onward, bad ones explain
themselves, save nothing, and leave the form as typed."""

from __future__ import annotations

from textual.widgets import Button, Input, Static

from connector.engine import MIRAKL, WOO_KEY, WOO_SECRET, WOOCOMMERCE
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from tests.sandboxes import STORE_URL, World
from tests.tui.conftest import DEMO, SIZE, connect, paste, screen_name, settle
from tui.app import MiraklWooApp
from tui.screens.authorize_mirakl import AuthorizeMiraklScreen
from tui.screens.authorize_woocommerce import AuthorizeWooScreen


def error_text(app: MiraklWooApp) -> str:
    return str(app.screen.query_one("#error", Static).content)


def value(app: MiraklWooApp, selector: str) -> str:
    return app.screen.query_one(selector, Input).value


async def test_mirakl_good_credentials_route_to_the_store_form(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, AuthorizeMiraklScreen)
        await pilot.press(*DEMO_CLIENT_ID, "tab")
        await paste(pilot, DEMO_CLIENT_SECRET)  # as copied from Mirakl Connect
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeWooScreen)
        store = world.engine.peek_store()
        assert store is not None and store.account(MIRAKL) is not None
        assert "Demo" in app.sub_title  # the header names the connected seller


async def test_mirakl_wrong_secret_is_explained_and_nothing_is_saved(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"demo", "tab", *"nope", "tab", "tab", "enter")  # on Authorize
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeMiraklScreen)
        assert error_text(app).startswith("Not authorized:")
        assert len(error_text(app)) > len("Not authorized: ")
        # the form keeps what was typed, and the button is usable again
        assert value(app, "#client-id") == "demo"
        assert value(app, "#client-secret") == "nope"
        assert not app.screen.query_one("#authorize", Button).disabled
        assert world.engine.peek_store() is None
        assert not world.engine.settings.secrets_path.exists()


async def test_a_corrected_secret_is_enough(world: World) -> None:
    app = MiraklWooApp(world.engine, demo={**DEMO, "mirakl_client_secret": "nope"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert "refused" in error_text(app)
        await pilot.press("tab", *DEMO_CLIENT_SECRET[:-1])  # tab selects the whole value
        await pilot.press(DEMO_CLIENT_SECRET[-1], "enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeWooScreen)


async def test_mirakl_empty_form_says_what_is_missing(world: World) -> None:
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert "client ID" in error_text(app)
        assert world.engine.peek_store() is None


async def test_demo_credentials_are_prefilled_and_shown(world: World) -> None:
    app = MiraklWooApp(world.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        demo_note = str(app.screen.query_one(".demo", Static).content)
        assert DEMO_CLIENT_ID in demo_note and DEMO_CLIENT_SECRET in demo_note
        assert value(app, "#client-secret") == DEMO_CLIENT_SECRET
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeWooScreen)
        assert value(app, "#store-url") == STORE_URL
        await pilot.press("enter")
        await settle(pilot)
        assert screen_name(app) == "OverviewScreen"


async def test_woo_good_credentials_route_to_the_overview(world: World) -> None:
    await connect(world, mirakl_only=True)
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, AuthorizeWooScreen)
        # the URL is typed; keys are pasted, as from WordPress admin
        await pilot.press(*STORE_URL, "tab")
        await paste(pilot, DEMO_CONSUMER_KEY)
        await pilot.press("tab")
        await paste(pilot, DEMO_CONSUMER_SECRET)
        await pilot.press("tab", "enter")  # the Authorize button
        await settle(pilot)
        assert screen_name(app) == "OverviewScreen"
        store = world.engine.peek_store()
        assert store is not None and store.account(WOOCOMMERCE) is not None
        assert " ⇄ " in app.sub_title


def _other_last_char(text: str) -> str:
    return "0" if text[-1] != "0" else "1"


async def test_woo_wrong_secret_is_explained_and_nothing_is_saved(world: World) -> None:
    await connect(world, mirakl_only=True)
    wrong = DEMO_CONSUMER_SECRET[:-1] + _other_last_char(DEMO_CONSUMER_SECRET)
    app = MiraklWooApp(world.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "tab", "end", "backspace", wrong[-1], "enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeWooScreen)
        assert error_text(app).startswith("Not authorized:")
        assert value(app, "#store-url") == STORE_URL
        assert value(app, "#consumer-key") == DEMO_CONSUMER_KEY
        assert value(app, "#consumer-secret") == wrong
        store = world.engine.peek_store()
        assert store is not None and store.account(WOOCOMMERCE) is None
        secrets = world.engine.secrets
        assert secrets.get(WOO_KEY) is None and secrets.get(WOO_SECRET) is None


async def test_woo_malformed_key_is_explained(world: World) -> None:
    await connect(world, mirakl_only=True)
    app = MiraklWooApp(world.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", *"ck_oops", "enter")  # tab selects the key: typing replaces it
        await settle(pilot)
        assert "consumer key" in error_text(app)
        assert value(app, "#consumer-key") == "ck_oops"
        assert world.engine.peek_store().account(WOOCOMMERCE) is None  # type: ignore[union-attr]


async def test_authorizing_shows_a_busy_state(world: World) -> None:
    world.mirakl_faults.latency = 0.4  # a slow network
    app = MiraklWooApp(world.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.screen.query_one("#authorize", Button).disabled
        assert "Authorizing" in str(app.screen.query_one("#busy", Static).content)
        await pilot.press("enter")  # a second Enter while busy starts nothing more
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeWooScreen)


async def test_mirakl_unreachable_is_explained(world: World) -> None:
    world.mirakl_faults.error_rate = 1.0  # every call answers 503
    app = MiraklWooApp(world.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthorizeMiraklScreen)
        assert error_text(app).startswith("Not authorized:")
        assert world.engine.peek_store() is None
