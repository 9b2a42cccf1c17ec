"""The sandbox store answers as a real WordPress 6.4.1 + WooCommerce 8.2.2 did, request by
request (the observations are in the repository's WooCommerce facts, restated here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from oauthlib import oauth1

from connector.mapping import StoreContext, map_item
from connector.product_options import ProductOptions
from connector.sandbox.catalog import Catalog
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox

BASIC = (DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
PRODUCTS = "/wp-json/wc/v3/products"
API_LINK = 'rel="https://api.w.org/"'


@pytest.fixture
async def plain() -> AsyncIterator[tuple[WooSandbox, httpx.AsyncClient]]:
    sandbox = WooSandbox(catalog=Catalog(30), permalinks="plain", wc_version="8.2.2")
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as http:
        yield sandbox, http


async def test_plain_permalinks_wp_json_is_the_html_home_page_naming_the_api(plain: Any) -> None:
    _, http = plain
    response = await http.get("/wp-json/")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert response.headers["link"] == f"<https://shop.test/index.php?rest_route=/>; {API_LINK}"


async def test_plain_permalinks_the_api_answers_at_rest_route(plain: Any) -> None:
    _, http = plain
    index = await http.get("/?rest_route=/")
    assert "wc/v3" in index.json()["namespaces"]
    products = await http.get("/?rest_route=/wc/v3/products&per_page=5", auth=BASIC)
    assert products.status_code == 200 and len(products.json()) == 5


async def test_plain_permalinks_wp_json_routes_redirect_with_a_slash(plain: Any) -> None:
    _, http = plain
    response = await http.get(f"{PRODUCTS}?per_page=5")
    assert response.status_code == 301
    assert response.headers["location"] == f"https://shop.test{PRODUCTS}/?per_page=5"


async def test_oauth_is_checked_against_the_home_url_not_the_host() -> None:
    sandbox = WooSandbox(home_url="http://127.0.0.1:8082")
    transport = httpx.ASGITransport(app=sandbox.app)
    signer = oauth1.Client(
        DEMO_CONSUMER_KEY,
        client_secret=DEMO_CONSUMER_SECRET,
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        signature_type=oauth1.SIGNATURE_TYPE_QUERY,
    )
    async with httpx.AsyncClient(transport=transport) as http:
        for host, status in (("localhost:8082", 401), ("127.0.0.1:8082", 200)):
            signed, _, _ = signer.sign(f"http://{host}{PRODUCTS}?per_page=1")
            response = await http.get(signed.replace(host, "localhost:8082"))
            assert response.status_code == status, host
            if status == 401:
                assert response.json()["message"] == (
                    "Invalid signature - provided signature does not match."
                )
        index = (await http.get("http://localhost:8082/wp-json/")).json()
    assert index["home"] == index["url"] == "http://127.0.0.1:8082"


async def test_lists_empty_batches_and_missing_parents_as_woocommerce_answers(plain: Any) -> None:
    _, http = plain
    batch = await http.post("/?rest_route=/wc/v3/products/batch", json={}, auth=BASIC)
    assert (batch.status_code, batch.json()) == (200, [])
    missing = await http.get("/?rest_route=/wc/v3/products/999999/variations", auth=BASIC)
    assert (missing.status_code, missing.json()) == (200, [])
    assert missing.headers["x-wp-total"] == "0"
    unknown = await http.get("/?rest_route=/wc/v3/products", auth=("ck_" + "1" * 40, "cs_x"))
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "woocommerce_rest_cannot_view"


async def test_link_headers_repeat_the_query_string_credentials_included(plain: Any) -> None:
    _, http = plain
    query = {
        "rest_route": "/wc/v3/products",
        "per_page": 10,
        "consumer_key": DEMO_CONSUMER_KEY,
        "consumer_secret": DEMO_CONSUMER_SECRET,
    }
    response = await http.get("/", params=query)
    assert response.status_code == 200
    links = response.headers.get_list("link", split_commas=True)
    next_link = next(link for link in links if 'rel="next"' in link)
    assert f"consumer_secret={DEMO_CONSUMER_SECRET}" in next_link
    assert "rest_route=" in next_link and "page=2" in next_link


def test_variations_as_a_real_store_shows_them() -> None:
    catalog = Catalog(400)
    variations = [
        (parent, variation)
        for parent in catalog.iter_products()
        if parent["type"] == "variable"
        for variation in catalog.variations(parent["id"])
    ]
    inherited = [(p, v) for p, v in variations if v["sku"] == p["sku"] and p["sku"]]
    assert inherited, "a variation without its own SKU shows its parent's"
    parent_managed = [(p, v) for p, v in variations if v["manage_stock"] == "parent"]
    assert parent_managed
    assert all(
        p["manage_stock"] is True and v["stock_quantity"] == p["stock_quantity"]
        for p, v in parent_managed
    )
    dated = [v for _, v in variations if v["date_on_sale_from_gmt"]]
    assert dated and any(not v["on_sale"] for v in dated)  # one scheduled for later


async def test_posing_as_8_2_there_is_no_global_unique_id_and_the_mapping_needs_none() -> None:
    sandbox = WooSandbox(catalog=Catalog(60), wc_version="8.2.2")
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shop.test") as http:
        products = (await http.get(PRODUCTS, params={"per_page": 60}, auth=BASIC)).json()
        parent = next(p for p in products if p["type"] == "variable")
        variations = (await http.get(f"{PRODUCTS}/{parent['id']}/variations", auth=BASIC)).json()
    assert not any("global_unique_id" in item for item in [*products, *variations])
    store = StoreContext(currency="EUR", locale="en_US")
    options = ProductOptions(statuses=("publish", "draft", "pending", "private"))
    simple = [p for p in products if p["type"] == "simple" and p["sku"]]
    mapped = [map_item(p, None, store, options) for p in simple]
    assert all(m.payload["gtins"] == [] for m in mapped)
    assert not any("GTIN" in w for m in mapped for w in m.warnings)
