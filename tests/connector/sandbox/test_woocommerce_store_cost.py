"""The sandbox store as a PHP one: `_fields` honoured as WordPress does, and CPU spent per
request in a pool of workers beyond which requests queue (PHP-FPM)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from connector.sandbox.catalog import Catalog
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox

BASIC = httpx.BasicAuth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
PRODUCTS = "/wp-json/wc/v3/products"


def _client(sandbox: WooSandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="https://shop.test", auth=BASIC
    )


async def test_fields_keeps_only_the_keys_named() -> None:
    sandbox = WooSandbox(catalog=Catalog(30, seed=3))
    async with _client(sandbox) as http:
        page = (await http.get(PRODUCTS, params={"per_page": 30, "_fields": "id,sku,type"})).json()
        variable = next(p["id"] for p in page if p["type"] == "variable")
        variations = await http.get(
            f"{PRODUCTS}/{variable}/variations", params={"_fields": "id, status"}
        )
        one = await http.get(f"{PRODUCTS}/{variable}", params={"_fields[]": ["name", "id"]})
    assert len(page) == 30
    assert {tuple(sorted(p)) for p in page} == {("id", "sku", "type")}
    assert variations.json() and all(set(v) == {"id", "status"} for v in variations.json())
    assert set(one.json()) == {"id", "name"}
    assert sandbox.calls[-1].fields is None and sandbox.calls[0].fields == "id,sku,type"


async def test_dotted_fields_keep_keys_inside_an_object_as_wordpress_does() -> None:
    sandbox = WooSandbox(currency="CHF")
    async with _client(sandbox) as http:
        nested = await http.get(
            "/wp-json/wc/v3/system_status",
            params={"_fields": "environment.version,settings.currency"},
        )
        whole = await http.get(
            "/wp-json/wc/v3/system_status", params={"_fields": "settings,settings.currency"}
        )
        refused = await http.get("/wp-json/wc/v3/products/999999", params={"_fields": "id"})
    assert nested.json() == {
        "environment": {"version": sandbox.wc_version},
        "settings": {"currency": "CHF"},
    }
    assert set(whole.json()) == {"settings"} and len(whole.json()["settings"]) > 1
    assert refused.json()["code"] == "woocommerce_rest_product_invalid_id"  # errors unfiltered


@pytest.fixture
async def php_store() -> AsyncIterator[WooSandbox]:
    sandbox = WooSandbox(catalog=Catalog(20, seed=3), cpu_per_request=0.05, workers=1)
    assert sandbox.php is not None
    await asyncio.to_thread(sandbox.php.start)
    yield sandbox
    sandbox.close()


async def test_cpu_per_request_queues_beyond_the_workers(php_store: WooSandbox) -> None:
    async with _client(php_store) as http:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(http.get(PRODUCTS, params={"per_page": 1, "page": n}) for n in range(1, 5))
        )
        wall = time.perf_counter() - started
    assert [a.status_code for a in answers] == [200] * 4
    # one worker: four requests of 0.05 s of CPU each, one after the other
    assert php_store.cpu_seconds >= 4 * 0.05
    assert wall >= 4 * 0.05
    assert php_store.peak_in_flight == 4  # all four held by the store, three queued


async def test_fields_spare_the_store_cpu_per_item() -> None:
    sandbox = WooSandbox(catalog=Catalog(20, seed=3), cpu_per_item=0.005, workers=1)
    assert sandbox.php is not None
    await asyncio.to_thread(sandbox.php.start)
    try:
        async with _client(sandbox) as http:
            await http.get(PRODUCTS, params={"per_page": 20})
            full = sandbox.cpu_seconds
            await http.get(PRODUCTS, params={"per_page": 20, "_fields": "id,sku"})
            lean = sandbox.cpu_seconds - full
    finally:
        sandbox.close()
    assert full >= 20 * 0.005
    assert lean < full / 5
