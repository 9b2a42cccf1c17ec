"""What a sync costs the store: only the fields the mapping reads, no variations of products
whose status is not pushed, and few requests in flight (each holds one of its PHP workers)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx

from connector.clients.woocommerce import WooClient
from connector.engine import Engine
from connector.mapping import PRODUCT_FIELDS, VARIATION_FIELDS, StoreContext, map_item
from connector.product_options import ProductOptions
from connector.sandbox.catalog import Catalog
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox
from connector.secret import Secret
from connector.services.sync import run_sync
from tests.sandboxes import FAST_CLIENTS, STORE_URL, make_world

CONTEXT = StoreContext(currency="EUR", locale="en_US")


async def _read(sandbox: WooSandbox, *, lean: bool) -> list[tuple[dict, dict | None]]:
    async with WooClient(
        url=STORE_URL,
        consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET),
        transport=httpx.ASGITransport(app=sandbox.app),
    ) as woo:
        items: list[tuple[dict, dict | None]] = []
        async for page in woo.iter_product_pages(fields=PRODUCT_FIELDS if lean else None):
            for product in page:
                if product["type"] != "variable":
                    items.append((product, None))
                    continue
                fields = VARIATION_FIELDS if lean else None
                for variation in await woo.list_variations(product["id"], fields=fields):
                    items.append((product, variation))
        return items


async def test_the_fields_asked_for_map_exactly_as_the_whole_product() -> None:
    sandbox = WooSandbox(catalog=Catalog(150, seed=5))
    whole = await _read(sandbox, lean=False)
    lean = await _read(sandbox, lean=True)
    assert len(whole) == len(lean) > 150
    assert all(set(p) <= set(PRODUCT_FIELDS) for p, _ in lean)
    for options in (
        ProductOptions(sync_products=True, statuses=("publish", "private", "draft", "pending")),
        ProductOptions(sync_products=True, price_mode="regular_with_sale"),
    ):
        for (product, variation), (lean_product, lean_variation) in zip(whole, lean, strict=True):
            expected = map_item(product, variation, CONTEXT, options)
            assert map_item(lean_product, lean_variation, CONTEXT, options) == expected


async def test_a_sync_asks_only_for_the_mapped_fields(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    world.woo.calls.clear()
    await run_sync(world.engine)
    reads = [c for c in world.woo.calls if c.path.endswith("/variations")]
    lists = [c for c in world.woo.calls if c.path == "/wp-json/wc/v3/products"]
    assert reads and all(c.fields == ",".join(VARIATION_FIELDS) for c in reads)
    assert lists and all(c.fields == ",".join(PRODUCT_FIELDS) for c in lists)


async def test_variations_of_a_product_not_pushed_are_not_read(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    catalog = world.woo.catalog
    variable = [p for p in catalog.iter_products() if p["type"] == "variable"]
    published = [p for p in variable if p["status"] == "publish"]
    assert len(published) >= 2
    first = await run_sync(world.engine)
    hidden = published[0]
    pushed_before = [
        v["sku"] for v in catalog.variations(hidden["id"]) if v["sku"] in world.mirakl.products
    ]
    assert pushed_before and first.failed == 0
    catalog.update_product(hidden["id"], status="draft")
    world.woo.calls.clear()

    again = await run_sync(world.engine)

    read = {c.path for c in world.woo.calls if c.path.endswith("/variations")}
    expected = {
        f"/wp-json/wc/v3/products/{p['id']}/variations"
        for p in catalog.iter_products()
        if p["type"] == "variable" and p["status"] == "publish"
    }
    assert read == expected  # the draft's and every other unpushed product's: not asked for
    assert f"/wp-json/wc/v3/products/{hidden['id']}/variations" not in read
    # what was pushed of it goes to 0, as when its variations were read and skipped
    assert again.set_to_0 == len(pushed_before)
    for sku in pushed_before:
        assert all(q["available_quantity"] == 0 for q in world.mirakl.products[sku]["quantities"])
    assert again.skipped_reasons.get("status draft not synced", 0) >= 1


async def _peak(world, settings_change: dict) -> int:
    world.woo_faults.latency = 0.01  # requests overlap, as they do against a remote store
    engine = Engine(
        dataclasses.replace(world.engine.settings, **settings_change),
        mirakl_transport=httpx.ASGITransport(app=world.mirakl.app),
        woo_transport=httpx.ASGITransport(app=world.woo.app),
        client_options=FAST_CLIENTS,
    )
    world.woo.peak_in_flight = 0
    try:
        report = await run_sync(engine)
    finally:
        engine.close()
    assert report.failed == 0 and report.pushed + report.unchanged > 0
    return world.woo.peak_in_flight


async def test_requests_in_flight_to_the_store_stay_few(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    assert await _peak(world, {}) == 3  # the default: PHP workers left for the shop
    assert await _peak(world, {"store_concurrency": 1}) == 1
