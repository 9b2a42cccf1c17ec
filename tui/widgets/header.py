"""The header every screen shows: the product name and the connected accounts."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widgets import Header
from textual.widgets._header import HeaderTitle

ARROWS = "⇄"


def mirakl_name(account: dict[str, Any] | None) -> str | None:
    """The name a merchant knows the Mirakl Connect account by."""
    if not account:
        return None
    return str(account.get("company_name") or account.get("client_id") or "Mirakl Connect")


def store_name(account: dict[str, Any] | None) -> str | None:
    """The name a merchant knows the WooCommerce store by."""
    if not account:
        return None
    return str(account.get("store_name") or account.get("url") or "WooCommerce")


def accounts_line(status: dict[str, Any]) -> str:
    """`Demo Seller Co. ⇄ Demo Store`, with words (not colours) for what is missing."""
    mirakl = mirakl_name(status.get("mirakl"))
    woo = store_name(status.get("woocommerce"))
    if mirakl is None and woo is None:
        return "not connected"
    return f"{mirakl or 'Mirakl Connect not connected'} {ARROWS} {woo or 'no store yet'}"


class AccountsHeader(Header):
    """Textual's Header without a clock; the App's sub-title carries the connected accounts.

    The App keeps `sub_title` up to date (see `MiraklWooApp.refresh_accounts`), so every
    screen, including ones other modules add, shows the same line.
    """

    def __init__(self) -> None:
        super().__init__(show_clock=False, icon=ARROWS)

    def _on_mount(self, event: Mount) -> None:
        """Header's own title watchers, minus a crash: when the sub-title changes while this
        header's screen is being removed (the App routes away as a job ends), its title
        may be gone already, and Header's NoMatches would end the app."""
        event.prevent_default()  # instead of Header._on_mount, not as well as

        async def set_title() -> None:
            with suppress(NoScreen, NoMatches):
                self.query_one(HeaderTitle).update(self.format_title())

        for reactable in (self.app, self.screen):
            self.watch(reactable, "title", set_title)
            self.watch(reactable, "sub_title", set_title)
