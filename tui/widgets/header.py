"""The header every screen shows: the product name and the connected accounts."""

from __future__ import annotations

from typing import Any

from textual.widgets import Header

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
