"""The Disconnect modal, driven from the keyboard: what enables the destructive button,
and that Escape and Cancel change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, RadioButton, Static

from connector.services.status import status
from tests.tui.account_helpers import (
    CHOOSE,
    AccountHost,
    account,
    fill_modal,
    go_button,
    keys,
    modal,
    products_snapshot,
    synced_world,
)
from tests.tui.conftest import settle
from tui.screens.disconnect_modal import CHOOSE_HINT, CONFIRM_HINT, DisconnectModal

ACCEPTED = ["disconnect", "  disconnect  "]
REFUSED = ["Disconnect", "DISCONNECT", "yes", ""]


@pytest.mark.parametrize("option", [None, "deactivate"])
@pytest.mark.parametrize("text", ACCEPTED + REFUSED)
async def test_button_needs_an_option_and_the_exact_word(
    mirakl_woo_home: Path, option: str | None, text: str
) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_modal(pilot, option, text)
        assert go_button(app).disabled is not (option is not None and text in ACCEPTED)
        hint = str(modal(app).query_one("#hint", Static).content)
        assert (hint == CONFIRM_HINT) is (text.strip() != "" and text not in ACCEPTED)
        # Enter in the input submits only when the button is enabled.
        await pilot.press("enter")
        await pilot.pause()
        if option is not None and text in ACCEPTED:
            assert not isinstance(app.screen, DisconnectModal)
            await settle(pilot)
        else:
            assert modal(app)  # still open
            assert status(world.engine)["job"] is None


async def test_modal_shows_the_options_and_counts(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    linked = world.engine.store.linked_count()
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        dialog = modal(app)
        buttons = list(dialog.query(RadioButton))
        assert [str(b.label) for b in buttons] == [
            "Disconnect & keep catalog active",
            "Deactivate Products",
            "Delete Products",
        ]
        assert not any(b.value for b in buttons)  # none chosen at first
        assert f"Your {linked} products stay on Mirakl Connect as they are." in (
            buttons[0].explanation
        )
        assert all(f"{linked} products" in b.detail for b in buttons[1:])
        assert go_button(app).disabled


async def test_fixing_a_wrong_word_enables_the_button(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_modal(pilot, "delete", "DISCONNECT")
        assert go_button(app).disabled
        await pilot.press(*["backspace"] * len("DISCONNECT"), *keys("disconnect"))
        await pilot.pause()
        assert not go_button(app).disabled
        assert str(modal(app).query_one("#hint", Static).content) == ""


@pytest.mark.parametrize("how", ["escape", "cancel"])
async def test_escape_and_cancel_change_nothing(mirakl_woo_home: Path, how: str) -> None:
    world = await synced_world(mirakl_woo_home)
    before = products_snapshot(world)
    linked = world.engine.store.linked_count()
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_modal(pilot, "delete", "disconnect")
        assert not go_button(app).disabled
        if how == "escape":
            await pilot.press("escape")
        else:
            await pilot.press("tab", "enter")  # from the input, Tab reaches Cancel first
        await pilot.pause()
        screen = account(app)
        assert not screen.busy
        await settle(pilot)
    assert app.receipts == []
    current = status(world.engine)
    assert current["mirakl"] is not None and current["woocommerce"] is not None
    assert current["job"] is None
    assert world.engine.store.linked_count() == linked
    assert products_snapshot(world) == before
    assert mirakl_woo_home.exists()


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (160, 48)])
async def test_the_modal_opens_at_its_top_and_fits_its_text(
    mirakl_woo_home: Path, size: tuple[int, int]
) -> None:
    """The warning is read first on a small terminal; on a large one the dialog is as tall
    as its text, not the whole screen; the buttons are always in sight."""
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=size) as pilot:
        await pilot.press("d")
        await pilot.pause()
        dialog = modal(app)
        body = dialog.query_one("#dialog-body")
        warning = dialog.query_one("#what-happens", Static)
        assert body.scroll_y == 0
        assert warning.region.y >= body.region.y and warning.region.height > 0
        assert app.focused is dialog.query_one("#options")
        buttons = dialog.query_one("#buttons")
        assert buttons.region.bottom <= size[1] - 1  # above the footer
        fits = body.virtual_size.height <= body.region.height
        if size == (160, 48):
            assert fits
            assert dialog.query_one("#dialog").region.height < 30  # not stretched to 48


@pytest.mark.parametrize(
    ("option", "text", "said"),
    [
        (None, "", "Choose what happens to the products above, and type disconnect."),
        ("delete", "", CONFIRM_HINT),
        (None, "disconnect", CHOOSE_HINT),
    ],
)
async def test_enter_on_the_unarmed_button_says_what_is_missing(
    mirakl_woo_home: Path, option: str | None, text: str, said: str
) -> None:
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_modal(pilot, option, text)
        await pilot.press("enter")
        await pilot.pause()
        assert modal(app)  # still open, nothing started
        assert str(modal(app).query_one("#hint", Static).content) == said
        assert status(world.engine)["job"] is None


async def test_keys_typed_in_one_burst_after_d_reach_the_dialog(mirakl_woo_home: Path) -> None:
    """A terminal delivers what was typed fast in one read: `d`, the option, Tab and the word
    arrive before the dialog is built. They wait for it, then reach it in order."""
    world = await synced_world(mirakl_woo_home)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        burst = ["d", *CHOOSE["delete"], "tab", *keys("disconnect")]
        for key in burst:  # all queued at once, as a fast typist's keys arrive
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(1.0)
        dialog = modal(app)
        assert dialog.query_one(Input).value == "disconnect"
        assert not go_button(app).disabled  # the option and the word both arrived
        assert status(world.engine)["job"] is None  # and nothing ran: Enter was not typed


@pytest.mark.parametrize("scheduled", [None, "cron", "systemd"])
async def test_the_warning_says_what_becomes_of_a_scheduled_sync(
    mirakl_woo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheduled: str | None
) -> None:
    from connector.services import schedule

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    world = await synced_world(mirakl_woo_home)
    if scheduled == "cron":  # what `schedule install` records where systemd has no user bus
        world.engine.store.set_setting("schedule", {"kind": "cron", "every": "15m"})
    elif scheduled == "systemd":  # the two unit files `schedule install` writes
        service, timer = schedule.unit_files(world.engine, 15)
        folder = schedule.unit_dir()
        folder.mkdir(parents=True)
        (folder / f"{schedule.unit_name(world.engine)}.service").write_text(service)
        (folder / f"{schedule.unit_name(world.engine)}.timer").write_text(timer)
    app = AccountHost(world.engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        warning = str(modal(app).query_one("#what-happens", Static).content)
        assert "will both be disconnected" in warning
        cron = "The cron line you added for the scheduled sync will do nothing"
        assert (cron in warning) is (scheduled == "cron")
        timer = "The scheduled sync (a systemd timer) is removed too."
        assert (timer in warning) is (scheduled == "systemd")
