"""Authorize WooCommerce: the store URL and a REST API key with Read/Write permission."""

from __future__ import annotations

from connector.secret import Secret
from tui.screens.authorize_mirakl import AuthorizeScreen, Field


class AuthorizeWooScreen(AuthorizeScreen):
    """Authorize WooCommerce: store URL, consumer key, consumer secret."""

    HEADING = "Authorize WooCommerce"
    BUSY_TEXT = "Authorizing… checking the store and the key"
    FIELDS = (
        Field(
            "store-url", "Store URL", placeholder="https://your-store.example", demo_key="woo_url"
        ),
        Field(
            "consumer-key",
            "Consumer key",
            password=True,
            placeholder="ck_…",
            demo_key="woo_consumer_key",
        ),
        Field(
            "consumer-secret",
            "Consumer secret",
            password=True,
            placeholder="cs_…",
            demo_key="woo_consumer_secret",
        ),
    )

    def help_text(self) -> str:
        return (
            "In WordPress admin open WooCommerce › Settings › Advanced › REST API › Add key, "
            'choose Permissions "Read/Write" (the connector needs read and write access) '
            "and paste the consumer key and secret here. Press Enter to authorize."
        )

    def demo_text(self, demo: dict[str, str]) -> str:
        return (
            f"Demo: the sandbox store is filled in: {demo.get('woo_url', '')}, consumer key "
            f"{demo.get('woo_consumer_key', '')}, consumer secret "
            f"{demo.get('woo_consumer_secret', '')}."
        )

    async def authorize_call(self, values: dict[str, str]) -> None:
        from connector.services import onboarding

        await onboarding.connect_woocommerce(
            self.engine,
            values["store-url"],
            Secret(values["consumer-key"]),
            Secret(values["consumer-secret"]),
        )
