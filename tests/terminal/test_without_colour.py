"""Usable without colour: on a 16-colour console (TERM=linux) and with NO_COLOR=1, what is
ticked or chosen shows as a glyph in the text itself, not only as a colour."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.terminal.conftest import Terminal, app_command, framed, marks, pane_env


def cursor_on(screen: str, labels: tuple[str, ...]) -> str | None:
    """The option whose line has the cursor mark `›` just before its label."""
    for label in labels:
        for line in screen.splitlines():
            if f"›{label}" in line:
                return label
    return None


STATUSES = ("Published", "Private", "Draft", "Pending review")
PRICES = ("Regular price, sale price as a discount", "Current price only")
OPTIONS = ("Disconnect & keep catalog active", "Deactivate Products", "Delete Products")


@pytest.mark.parametrize(
    ("term", "extra_env"),
    [
        pytest.param("linux", {}, id="TERM=linux"),
        pytest.param("xterm-256color", {"NO_COLOR": "1"}, id="NO_COLOR"),
    ],
)
def test_ticked_and_chosen_are_marked_in_the_text(
    terminal: Callable[..., Terminal], tmp_path: Path, term: str, extra_env: dict[str, str]
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = pane_env(tmp_path / "home", {"TMPDIR": str(tmp), **extra_env})
    t = terminal(
        app_command("demo", "--connected", "--catalog-size", "50", "--interval", "0.2"),
        env=env,
        term=term,
    )
    t.wait_for_line("Overview", "Last sync", timeout=30)
    t.settle()

    # Product Settings as saved: Published only, regular price; the switch says it in words.
    t.send("p")
    screen = t.wait_for_all("Product settings", "Current price only")
    assert marks(screen, STATUSES) == {
        "Published": "X",
        "Private": " ",
        "Draft": " ",
        "Pending review": " ",
    }
    assert marks(screen, PRICES) == {PRICES[0]: "●", PRICES[1]: " "}
    assert "Off: nothing is pushed." in screen

    # Tick Draft (focus: switch → Published → Private → Draft) and read the marks again.
    t.send("Tab", "Tab", "Tab", "Space")
    screen = t.wait_until(lambda s: marks(s, STATUSES)["Draft"] == "X", "Draft ticked")
    assert marks(screen, STATUSES) == {
        "Published": "X",
        "Private": " ",
        "Draft": "X",
        "Pending review": " ",
    }

    # Choose the other price (→ Pending review → Quantity → the price RadioSet).
    t.send("Tab", "Tab", "Tab")
    screen = t.wait_until(lambda s: cursor_on(s, PRICES) == PRICES[0], "the cursor shown")
    t.send("Down", "Space")
    screen = t.wait_until(lambda s: marks(s, PRICES)[PRICES[1]] == "●", "the other price")
    assert marks(screen, PRICES) == {PRICES[0]: " ", PRICES[1]: "●"}

    # The Disconnect modal: no option marked at first, then only the chosen one.
    t.send("a")
    t.wait_for_all("API key", "Connected since")
    t.send("d")
    screen = t.wait_for_all("Disconnect & Continue", "Delete Products")
    assert set(marks(screen, OPTIONS).values()) == {" "}, framed(screen)
    # Where the cursor is shows in the text too.
    t.send("Down")
    screen = t.wait_until(lambda s: cursor_on(s, OPTIONS) == OPTIONS[1], "the cursor moved")
    t.send("Space")
    screen = t.wait_until(
        lambda s: marks(s, OPTIONS)["Deactivate Products"] == "●", "Deactivate chosen"
    )
    assert marks(screen, OPTIONS) == {OPTIONS[0]: " ", OPTIONS[1]: "●", OPTIONS[2]: " "}

    # Escape changes nothing.
    t.send("Escape")
    screen = t.wait_gone("Disconnect & Continue")
    assert "API key" in screen
    t.send("C-q", settle=False)
    assert t.wait_exit() == 0
