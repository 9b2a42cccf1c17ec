"""The whole journey of a merchant, in a real 80×24 terminal, in each terminal type.

`mirakl-woo demo` (its own sandbox and data folder) → authorize both accounts → Overview →
Product Settings: Sync Product on, sync → Overview counts → Account → Disconnect modal (the
wrong word refused, Delete Products, `disconnect`) → the receipt → Authorize Mirakl Connect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY
from tests.terminal.conftest import (
    TERMS,
    Terminal,
    app_command,
    assert_footer,
    framed,
    marks,
    pane_env,
    receipt_text,
    spaced,
)

OPTIONS = ("Disconnect & keep catalog active", "Deactivate Products", "Delete Products")
CONFIRM_HINT = "Type the word disconnect in lower case."

JOURNEYS = [pytest.param(term, {}, id=term) for term in TERMS] + [
    pytest.param("xterm-256color", {"NO_COLOR": "1"}, id="NO_COLOR"),
]


def header(screen: str) -> str:
    return screen.split("\n", 1)[0]


@pytest.mark.parametrize(("term", "extra_env"), JOURNEYS)
def test_whole_journey_at_80x24(
    terminal: Callable[..., Terminal], tmp_path: Path, term: str, extra_env: dict[str, str]
) -> None:
    tmp = tmp_path / "tmp"  # the demo makes its own data folder in here
    tmp.mkdir()
    env = pane_env(tmp_path / "home", {"TMPDIR": str(tmp), **extra_env})
    t = terminal(
        app_command("demo", "--catalog-size", "300", "--interval", "0.2"), env=env, term=term
    )
    key7 = DEMO_CONSUMER_KEY[-7:]

    # Onboarding: the demo fills in the sandbox's credentials; Enter authorizes.
    screen = t.wait_for_all("Authorize Mirakl Connect", "Client secret", timeout=30)
    assert "not connected" in header(screen)
    assert_footer(t, "^q Quit")
    (demo_folder,) = tmp.glob("mirakl-woo-demo-*")
    t.settle()
    t.send("Enter", settle=False)

    screen = t.wait_for_all("Authorize WooCommerce", "Consumer secret")
    assert "Demo Seller Co." in header(screen)
    assert "WooCommerce › Settings › Advanced › REST API" in screen
    assert_footer(t, "^q Quit")
    t.settle()
    t.send("Enter", settle=False)

    # Overview: both accounts.
    screen = t.wait_for_line("Overview", "Last sync")
    assert re.search(r"Mirakl Connect\s+Demo Seller Co\.", screen), framed(screen)
    assert re.search(r"WooCommerce\s+Demo Store", screen), framed(screen)
    assert "Demo Seller Co. ⇄ Demo Store" in header(screen)
    assert re.search(r"Sync Product\s+Off", screen), framed(screen)
    assert_footer(t, "p Settings", "a Account", "s Sync now", "^q Quit")
    t.settle()

    # Product Settings: the switch has focus; space turns Sync Product on; s syncs.
    t.send("p")
    screen = t.wait_for_all("Product settings", "Off: nothing is pushed.")
    assert_footer(t, "^s Save", "o Overview", "a Account", "s Sync now", "^q Quit")
    t.send("Space")
    t.wait_for("On: each sync pushes products.")
    t.send("s", settle=False)
    screen = t.wait_for("Done: ", timeout=60)
    match = re.search(r"Done: ([\d,]+) pushed", screen)
    assert match, framed(screen)
    pushed = int(match.group(1).replace(",", ""))
    assert pushed > 0
    t.settle()

    # Overview: the products pushed.
    t.send("o")
    screen = t.wait_for_line("Overview", "Last sync")
    assert re.search(rf"Products\s+{pushed:,} pushed", screen), framed(screen)
    assert re.search(r"Sync Product\s+On", screen), framed(screen)
    assert not re.search(r"Last sync\s+never", screen), framed(screen)

    # Account: both accounts and the WooCommerce key's last 7 characters.
    t.send("a")
    screen = t.wait_for_all("API key", "Connected since")
    assert "Mirakl Connect" in screen and "Demo Seller Co." in screen
    assert "WooCommerce" in screen and "Demo Store" in screen
    assert f"…{key7}" in screen
    assert_footer(t, "d Disconnect", "o Overview", "p Settings", "^q Quit")

    # The Disconnect modal: nothing chosen at first.
    t.send("d")
    screen = t.wait_for_all("Disconnect & Continue", "Delete Products")
    assert f"What happens to the {spaced(pushed)} products" in screen, framed(screen)
    assert set(marks(screen, OPTIONS).values()) == {" "}
    assert_footer(t, "esc Cancel")
    t.send("Down", "Down", "Space")  # the cursor starts on the first option
    screen = t.wait_until(
        lambda s: marks(s, OPTIONS)["Delete Products"] == "●", "Delete Products chosen"
    )
    assert marks(screen, OPTIONS) == {OPTIONS[0]: " ", OPTIONS[1]: " ", OPTIONS[2]: "●"}

    # "Disconnect" is not the word: a hint, and Enter does not confirm.
    t.send("Tab")
    t.type("Disconnect")
    t.wait_for(CONFIRM_HINT)
    t.send("Enter")
    screen = t.screen()
    assert "Disconnect & Continue" in screen and CONFIRM_HINT in screen, framed(screen)
    assert "Disconnected" not in screen

    # The right word, then Tab to "Disconnect & Continue" (past Cancel) and Enter.
    t.send_together(*["BSpace"] * len("Disconnect"))
    t.type("disconnect")
    screen = t.screen()
    assert CONFIRM_HINT not in screen, framed(screen)
    t.send("Tab", "Tab")
    t.send("Enter", settle=False)

    # The receipt stays until read; Enter, then the Authorize Mirakl Connect screen.
    screen = t.wait_for_all("Receipt", "c Continue", timeout=30)
    receipt = receipt_text(screen)
    assert f"{pushed:,} products deleted from Mirakl Connect" in receipt, framed(screen)
    assert f"Revoke the key ending in …{key7}" in receipt, framed(screen)
    assert "Mirakl Connect shows" in receipt, framed(screen)  # what it confirmed
    t.send("Enter", settle=False)
    screen = t.wait_for_all("Authorize Mirakl Connect", "Client secret", timeout=30)
    assert "not connected" in header(screen)
    assert_footer(t, "^q Quit")
    assert not (demo_folder / "data").exists(), "the data folder survived the disconnect"

    t.send("C-q", settle=False)
    assert t.wait_exit() == 0
    assert not demo_folder.exists(), "the demo left its folder behind"
