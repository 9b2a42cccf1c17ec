"""Test helpers: an Engine pointed at in-process sandboxes (real HTTP semantics through
httpx's ASGI transport, real SQLite in the test's own data folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connector.engine import Engine
from connector.product_options import ProductOptions
from connector.sandbox.catalog import Catalog
from connector.sandbox.faults import Faults
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MiraklSandbox
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox
from connector.secret import Secret
from connector.services import onboarding
from connector.services.sync import save_options
from connector.settings import Settings

STORE_URL = "https://shop.test"
FAST_CLIENTS: dict[str, dict[str, Any]] = {
    "mirakl": {"retry_wait": 0.01},
    "woocommerce": {},
}


@dataclass
class World:
    """Both sandboxes and an engine wired to them."""

    engine: Engine
    mirakl: MiraklSandbox
    woo: WooSandbox
    mirakl_faults: Faults
    woo_faults: Faults

    async def connect(self, *, sync_on: bool = True) -> None:
        await onboarding.connect_mirakl(self.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
        await onboarding.connect_woocommerce(
            self.engine, STORE_URL, Secret(DEMO_CONSUMER_KEY), Secret(DEMO_CONSUMER_SECRET)
        )
        if sync_on:
            save_options(self.engine, ProductOptions(sync_products=True))

    def another_engine(self) -> Engine:
        """An engine on the same data folder and sandboxes with a connection of its own: what
        another mirakl-woo process (a CLI command, a runner) is to this one."""
        engine = self.engine
        return Engine(
            engine.settings,
            mirakl_transport=httpx.ASGITransport(app=self.mirakl.app),
            woo_transport=httpx.ASGITransport(app=self.woo.app),
            client_options=FAST_CLIENTS,
        )


def make_world(
    home: Path, *, catalog_size: int = 60, interval: float = 0.02, seed: int = 1
) -> World:
    faults = Faults()
    woo_faults = Faults(only_paths=("/wp-json/wc/",))
    mirakl = MiraklSandbox(interval=interval, faults=faults)
    woo = WooSandbox(catalog=Catalog(catalog_size, seed=seed), faults=woo_faults)
    settings = Settings(
        home=home,
        auth_url="https://mirakl.test/oauth/token",
        api_url="https://mirakl.test/api",
        min_interval=interval,
    )
    engine = Engine(
        settings,
        mirakl_transport=httpx.ASGITransport(app=mirakl.app),
        woo_transport=httpx.ASGITransport(app=woo.app),
        client_options=FAST_CLIENTS,
    )
    return World(engine, mirakl, woo, faults, woo_faults)
