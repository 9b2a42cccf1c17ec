"""The header every screen shows: the product name and the connected accounts."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widget import Widget

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


class AccountsHeader(Widget):
    """One line at the top: the product name and the connected accounts.

    A plain widget rather than Textual's Header: Header watches the App's title from every
    screen and those watchers outlive the screen (each switch leaked a header and its
    subtree), and its deferred title update crashed when the screen was already gone. The
    App calls `refresh_title()` on the current screen's header when the accounts change.
    """

    DEFAULT_CSS = """
    AccountsHeader {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        text-align: center;
        text-style: bold;
    }
    """

    def render(self) -> Content:
        app = self.app
        line = f"{app.title} — {app.sub_title}" if app.sub_title else app.title
        return Content(f"{ARROWS}  {line}")  # plain text: names come from the servers

    def refresh_title(self) -> None:
        self.refresh()
