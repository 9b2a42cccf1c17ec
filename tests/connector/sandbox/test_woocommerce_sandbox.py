"""The WooCommerce sandbox: a catalog shaped like WooCommerce's samples, and a REST API that
authenticates and fails the way WooCommerce does. Requests go through httpx's ASGI transport."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from oauthlib import oauth1

from connector.sandbox.catalog import Catalog, gtin_check_digit
from connector.sandbox.faults import Faults
from connector.sandbox.woocommerce import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    READ_ONLY_CONSUMER_KEY,
    READ_ONLY_CONSUMER_SECRET,
    WooSandbox,
)
from tests.data import SPECS

SAMPLES = SPECS / "woocommerce"
PRODUCTS = "/wp-json/wc/v3/products"
BASIC = httpx.BasicAuth(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
KEYS = {
    DEMO_CONSUMER_KEY: (DEMO_CONSUMER_SECRET, "read_write"),
    READ_ONLY_CONSUMER_KEY: (READ_ONLY_CONSUMER_SECRET, "read"),
}


# Field -> JSON type in WooCommerce's own samples (tests/data/specs/woocommerce/*retrieve*.json);
# None where the sample shows null (a date or a quantity that may also be set).
PRODUCT_FIELDS: dict[str, str | None] = {
    "id": "int", "name": "str", "slug": "str", "permalink": "str", "date_created": "str",
    "date_created_gmt": "str", "date_modified": "str", "date_modified_gmt": "str",
    "type": "str", "status": "str", "featured": "bool", "catalog_visibility": "str",
    "description": "str", "short_description": "str", "sku": "str", "price": "str",
    "regular_price": "str", "sale_price": "str", "date_on_sale_from": None,
    "date_on_sale_from_gmt": None, "date_on_sale_to": None, "date_on_sale_to_gmt": None,
    "price_html": "str", "on_sale": "bool", "purchasable": "bool", "total_sales": "int",
    "virtual": "bool", "downloadable": "bool", "downloads": "list", "download_limit": "int",
    "download_expiry": "int", "external_url": "str", "button_text": "str",
    "tax_status": "str", "tax_class": "str", "manage_stock": "bool", "stock_quantity": None,
    "stock_status": "str", "backorders": "str", "backorders_allowed": "bool",
    "backordered": "bool", "sold_individually": "bool", "weight": "str", "dimensions": "dict",
    "shipping_required": "bool", "shipping_taxable": "bool", "shipping_class": "str",
    "shipping_class_id": "int", "reviews_allowed": "bool", "average_rating": "str",
    "rating_count": "int", "related_ids": "list", "upsell_ids": "list",
    "cross_sell_ids": "list", "parent_id": "int", "purchase_note": "str",
    "categories": "list", "tags": "list", "images": "list", "attributes": "list",
    "default_attributes": "list", "variations": "list", "grouped_products": "list",
    "menu_order": "int", "meta_data": "list", "_links": "dict",
}
VARIATION_FIELDS: dict[str, str | None] = {
    "id": "int", "date_created": "str", "date_created_gmt": "str", "date_modified": "str",
    "date_modified_gmt": "str", "description": "str", "permalink": "str", "sku": "str",
    "price": "str", "regular_price": "str", "sale_price": "str", "date_on_sale_from": None,
    "date_on_sale_from_gmt": None, "date_on_sale_to": None, "date_on_sale_to_gmt": None,
    "on_sale": "bool", "status": "str", "purchasable": "bool", "virtual": "bool",
    "downloadable": "bool", "downloads": "list", "download_limit": "int",
    "download_expiry": "int", "tax_status": "str", "tax_class": "str", "manage_stock": "bool",
    "stock_quantity": None, "stock_status": "str", "backorders": "str",
    "backorders_allowed": "bool", "backordered": "bool", "weight": "str",
    "dimensions": "dict", "shipping_class": "str", "shipping_class_id": "int",
    "image": "dict", "attributes": "list", "menu_order": "int", "meta_data": "list",
    "_links": "dict",
}


def _type_name(value: Any) -> str | None:
    return None if value is None else type(value).__name__


@pytest.mark.parametrize(
    ("sample", "fields"),
    [("products--retrieve-a-product.json", PRODUCT_FIELDS),
     ("product-variations--retrieve-a-product-variation.json", VARIATION_FIELDS)],
)
def test_the_field_tables_match_the_official_samples(
    sample: str, fields: dict[str, str | None]
) -> None:
    path = SAMPLES / sample
    payload = json.loads(path.read_text())
    assert {k: _type_name(v) for k, v in payload.items()} == fields


def _assert_shape(item: dict[str, Any], fields: dict[str, str | None]) -> None:
    missing = set(fields) - set(item)
    assert not missing, f"{item.get('id')} lacks {missing}"
    for key, expected in fields.items():
        if key == "manage_stock" and item[key] == "parent":
            continue  # a real store's variation that leaves its stock to the parent
        if expected is not None and item[key] is not None:
            assert _type_name(item[key]) == expected, key


def _client(sandbox: WooSandbox, base: str = "https://shop.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=base)


@pytest.fixture
async def sandbox_http() -> AsyncIterator[tuple[WooSandbox, httpx.AsyncClient]]:
    sandbox = WooSandbox(catalog=Catalog(250), keys=KEYS)
    async with _client(sandbox) as http:
        yield sandbox, http


def _oauth_url(url: str, method: str = "GET", *, secret: str = DEMO_CONSUMER_SECRET,
               sha1: bool = False, timestamp: str | None = None) -> str:
    client = oauth1.Client(
        DEMO_CONSUMER_KEY,
        client_secret=secret,
        signature_method=oauth1.SIGNATURE_HMAC_SHA1 if sha1 else oauth1.SIGNATURE_HMAC_SHA256,
        signature_type=oauth1.SIGNATURE_TYPE_QUERY,
        timestamp=timestamp,
    )
    signed, _headers, _body = client.sign(url, http_method=method)
    return str(signed)


# --- the catalog --------------------------------------------------------------------------


def test_products_have_the_shape_of_woocommerces_sample() -> None:
    catalog = Catalog(300)
    for product in catalog.iter_products():
        _assert_shape(product, PRODUCT_FIELDS)
        assert product["type"] in ("simple", "variable")
        assert product["status"] in ("publish", "draft", "private", "pending")
        assert isinstance(product["global_unique_id"], str)
        for price in ("price", "regular_price", "sale_price"):
            assert isinstance(product[price], str)
        assert all(set(image) >= {"id", "src"} for image in product["images"])
        assert product["_links"]["self"][0]["href"].endswith(f"/products/{product['id']}")


def test_variations_have_the_shape_of_woocommerces_sample() -> None:
    catalog = Catalog(300)
    variable = [p for p in catalog.iter_products() if p["type"] == "variable"]
    assert variable
    for parent in variable:
        variations = catalog.variations(parent["id"])
        assert [v["id"] for v in variations] == parent["variations"]
        assert 2 <= len(variations) <= 4
        for variation in variations:
            _assert_shape(variation, VARIATION_FIELDS)
            up = variation["_links"]["up"][0]["href"]
            assert up.endswith(f"/wp-json/wc/v3/products/{parent['id']}")
            assert variation["attributes"] and all("option" in a for a in variation["attributes"])
            assert variation["image"] is None or variation["image"]["src"].startswith("https://")
            assert variation["status"] in ("publish", "private")
        options = {tuple(a["option"] for a in v["attributes"]) for v in variations}
        assert len(options) == len(variations), "each variation is another combination"
        prices = [float(v["price"]) for v in variations]
        assert float(parent["price"]) == min(prices)


def test_the_catalog_is_deterministic_and_seeded() -> None:
    a, b, other = Catalog(500, seed=7), Catalog(500, seed=7), Catalog(500, seed=8)
    assert list(a.product_ids()) == list(b.product_ids())
    assert [a.product(i) for i in a.product_ids()[:50]] == [
        b.product(i) for i in b.product_ids()[:50]
    ]
    assert [a.product(i)["name"] for i in a.product_ids()[:50]] != [  # type: ignore[index]
        other.product(i)["name"] for i in other.product_ids()[:50]  # type: ignore[index]
    ]


def test_a_huge_catalog_costs_nothing_until_read() -> None:
    started = time.perf_counter()
    catalog = Catalog(100_000)
    ids = catalog.product_ids()
    last = catalog.product(ids[-1])
    assert len(catalog) == len(ids) == 100_000
    assert last is not None and last["id"] == ids[-1]
    assert time.perf_counter() - started < 0.5


def test_the_catalog_has_the_mix_a_real_store_has() -> None:
    catalog = Catalog(3000, seed=3)
    products = list(catalog.iter_products())
    kinds = Counter(p["type"] for p in products)
    statuses = Counter(p["status"] for p in products)
    n = len(products)
    assert 0.70 <= kinds["simple"] / n <= 0.86
    assert 0.14 <= kinds["variable"] / n <= 0.26
    assert 0.03 <= statuses["draft"] / n <= 0.08
    assert 0.005 <= statuses["private"] / n <= 0.04
    assert statuses["pending"] > 0
    assert 0.01 <= sum(1 for p in products if not p["sku"]) / n <= 0.06
    gtins = [p["global_unique_id"] for p in products if p["global_unique_id"]]
    assert len(gtins) > n / 4
    for gtin in gtins:
        assert gtin.isdigit() and len(gtin) in (8, 12, 13, 14)
        assert gtin[-1] == gtin_check_digit(gtin[:-1])
    assert any(len(p["images"]) > 15 for p in products)
    assert any(not p["images"] for p in products)
    assert any(len(p["name"]) > 200 for p in products)
    assert any(len(p["description"]) > 5000 for p in products)
    assert any((p["stock_quantity"] or 0) < 0 for p in products)
    dated_sales = [p for p in products if p["sale_price"] and p["date_on_sale_from_gmt"]]
    assert dated_sales
    for product in dated_sales:
        assert float(product["sale_price"]) < float(product["regular_price"])
        assert product["date_on_sale_to_gmt"] > product["date_on_sale_from_gmt"]


def test_overrides_change_only_what_they_name_and_keep_ids() -> None:
    catalog = Catalog(50)
    ids = list(catalog.product_ids())
    before = catalog.product(ids[3])
    assert before is not None

    updated = catalog.update_product(ids[3], name="Renamed", status="draft", sku="")
    assert (updated["name"], updated["status"], updated["sku"]) == ("Renamed", "draft", "")
    assert updated["date_modified_gmt"] > before["date_modified_gmt"]
    assert ids[3] in catalog.product_ids("draft")

    catalog.delete_product(ids[0])
    assert catalog.product(ids[0]) is None
    assert list(catalog.product_ids()) == ids[1:]

    added = catalog.add_product(name="Brand new", regular_price="12.00", price="12.00")
    assert added["id"] > max(ids) and added["name"] == "Brand new" and added["type"] == "simple"
    assert list(catalog.product_ids())[-1] == added["id"]
    assert len(catalog) == 50

    parent = next(p for p in catalog.iter_products() if p["type"] == "variable")
    first, *rest = parent["variations"]
    catalog.delete_variation(parent["id"], first)
    changed = catalog.update_variation(parent["id"], rest[0], stock_quantity=0, manage_stock=True)
    extra = catalog.add_variation(parent["id"], regular_price="5.00", price="5.00")
    assert catalog.variation_ids(parent["id"]) == [*rest, extra["id"]]
    assert changed["stock_quantity"] == 0
    assert catalog.product(parent["id"])["variations"] == [*rest, extra["id"]]  # type: ignore[index]


def test_listing_skips_deleted_products_without_building_a_list() -> None:
    catalog = Catalog(1000)
    ids = list(catalog.product_ids())
    for index in (0, 1, 2, 500, 998, 999):
        catalog.delete_product(ids[index])
    expected = [pid for i, pid in enumerate(ids) if i not in (0, 1, 2, 500, 998, 999)]
    assert list(catalog.product_ids()) == expected
    assert catalog.product_ids()[497] == expected[497]


# --- the REST API -------------------------------------------------------------------------


async def test_index_lists_wc_v3_only_when_woocommerce_is_active() -> None:
    active, inactive = WooSandbox(), WooSandbox(woocommerce_active=False)
    async with _client(active) as http:
        index = (await http.get("/wp-json/")).json()
    assert "wc/v3" in index["namespaces"]
    assert index["name"] == "Demo Store" and index["url"] == "https://shop.test"
    async with _client(inactive) as http:
        assert "wc/v3" not in (await http.get("/wp-json/")).json()["namespaces"]
        response = await http.get(PRODUCTS, auth=BASIC)
    assert response.status_code == 404
    assert response.json()["code"] == "rest_no_route"


async def test_products_are_paged_with_wordpress_headers(sandbox_http: Any) -> None:
    sandbox, http = sandbox_http
    response = await http.get(PRODUCTS, auth=BASIC)
    assert response.status_code == 200
    assert response.headers["X-WP-Total"] == "250"
    assert response.headers["X-WP-TotalPages"] == "25"
    newest_first = [p["id"] for p in response.json()]
    assert newest_first == list(reversed(sandbox.catalog.product_ids()))[:10]  # default: desc

    last = await http.get(
        PRODUCTS, params={"per_page": 100, "page": 3, "order": "asc"}, auth=BASIC
    )
    assert [p["id"] for p in last.json()] == list(sandbox.catalog.product_ids()[200:])
    assert 'rel="prev"' in last.headers["Link"] and "consumer" not in last.headers["Link"]
    beyond = await http.get(PRODUCTS, params={"per_page": 100, "page": 4}, auth=BASIC)
    assert beyond.status_code == 200 and beyond.json() == []


async def test_status_filter_and_totals(sandbox_http: Any) -> None:
    sandbox, http = sandbox_http
    response = await http.get(PRODUCTS, params={"status": "draft", "per_page": 100}, auth=BASIC)
    drafts = response.json()
    assert drafts and all(p["status"] == "draft" for p in drafts)
    assert response.headers["X-WP-Total"] == str(len(sandbox.catalog.product_ids("draft")))


@pytest.mark.parametrize(
    ("params", "name"),
    [({"per_page": 101}, "per_page"), ({"per_page": 0}, "per_page"), ({"page": 0}, "page"),
     ({"per_page": "ten"}, "per_page"), ({"status": "sold"}, "status")],
)
async def test_invalid_parameters_answer_rest_invalid_param(
    sandbox_http: Any, params: dict[str, Any], name: str
) -> None:
    _, http = sandbox_http
    response = await http.get(PRODUCTS, params=params, auth=BASIC)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {name}"
    assert body["data"]["status"] == 400 and name in body["data"]["params"]


async def test_unknown_routes_and_ids(sandbox_http: Any) -> None:
    _, http = sandbox_http
    no_route = await http.get("/wp-json/wc/v3/nothing-here", auth=BASIC)
    assert (no_route.status_code, no_route.json()["code"]) == (404, "rest_no_route")
    assert no_route.json()["data"] == {"status": 404}
    unknown = await http.get(f"{PRODUCTS}/999999", auth=BASIC)
    assert (unknown.status_code, unknown.json()["code"]) == (
        404, "woocommerce_rest_product_invalid_id"
    )
    page = await http.get("/no-such-page/")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


async def test_product_and_variations_routes(sandbox_http: Any) -> None:
    sandbox, http = sandbox_http
    parent = next(p for p in sandbox.catalog.iter_products() if p["type"] == "variable")
    product = (await http.get(f"{PRODUCTS}/{parent['id']}", auth=BASIC)).json()
    assert product["id"] == parent["id"] and product["variations"] == parent["variations"]
    response = await http.get(f"{PRODUCTS}/{parent['id']}/variations", auth=BASIC)
    assert response.headers["X-WP-Total"] == str(len(parent["variations"]))
    assert sorted(v["id"] for v in response.json()) == parent["variations"]
    one = await http.get(f"{PRODUCTS}/{parent['id']}/variations/{parent['variations'][0]}",
                         auth=BASIC)
    assert one.json()["_links"]["up"][0]["href"] == f"https://shop.test{PRODUCTS}/{parent['id']}"


async def test_without_credentials_woocommerce_says_cannot_view(sandbox_http: Any) -> None:
    _, http = sandbox_http
    response = await http.get(PRODUCTS)
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


async def test_a_wrong_secret_with_a_known_key_is_refused_by_name(sandbox_http: Any) -> None:
    _, http = sandbox_http
    auth = (DEMO_CONSUMER_KEY, "cs_" + "0" * 40)
    for response in (
        await http.get(PRODUCTS, auth=auth),
        await http.get(PRODUCTS, params={"consumer_key": auth[0], "consumer_secret": auth[1]}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "woocommerce_rest_authentication_error"
        assert response.json()["message"] == "Consumer secret is invalid."


async def test_an_unknown_key_over_https_is_no_credentials_at_all(sandbox_http: Any) -> None:
    """As a real store: not "Consumer key is invalid." but the anonymous answer, the same as
    when the host strips the Authorization header (what a real WooCommerce 8.2.2 answered)."""
    sandbox, http = sandbox_http
    auth = ("ck_" + "0" * 40, DEMO_CONSUMER_SECRET)
    for response in (
        await http.get(PRODUCTS, auth=auth),
        await http.get(PRODUCTS, params={"consumer_key": auth[0], "consumer_secret": auth[1]}),
        await http.post(f"{PRODUCTS}/batch", json={}, auth=auth),
    ):
        assert response.status_code == 401
        assert response.json()["code"] in (
            "woocommerce_rest_cannot_view",
            "woocommerce_rest_cannot_batch",
        )
    assert sandbox.query_credentials == [auth], "the query-string request is on record"


async def test_an_unknown_key_over_oauth_is_named(sandbox_http: Any) -> None:
    """Over OAuth 1.0a WooCommerce does say "Consumer key is invalid."."""
    _, http = sandbox_http
    client = oauth1.Client(
        "ck_" + "0" * 40,
        client_secret=DEMO_CONSUMER_SECRET,
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        signature_type=oauth1.SIGNATURE_TYPE_QUERY,
    )
    signed, _, _ = client.sign("http://shop.test" + PRODUCTS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=WooSandbox().app), base_url="http://shop.test"
    ) as plain:
        response = await plain.get(signed)
    assert response.status_code == 401
    assert response.json()["message"] == "Consumer key is invalid."


async def test_query_string_credentials_work_over_https(sandbox_http: Any) -> None:
    _, http = sandbox_http
    response = await http.get(
        PRODUCTS,
        params={"consumer_key": DEMO_CONSUMER_KEY, "consumer_secret": DEMO_CONSUMER_SECRET},
    )
    assert response.status_code == 200


async def test_read_only_key_reads_but_cannot_batch(sandbox_http: Any) -> None:
    _, http = sandbox_http
    auth = (READ_ONLY_CONSUMER_KEY, READ_ONLY_CONSUMER_SECRET)
    assert (await http.get(PRODUCTS, auth=auth)).status_code == 200
    response = await http.post(f"{PRODUCTS}/batch", json={}, auth=auth)
    assert response.status_code == 401
    assert response.json()["message"] == "The API key provided does not have write permissions."
    writable = await http.post(f"{PRODUCTS}/batch", json={}, auth=BASIC)
    assert (writable.status_code, writable.json()) == (200, [])  # as WooCommerce 8.2 answers


async def test_system_status_is_small_and_authenticated(sandbox_http: Any) -> None:
    _, http = sandbox_http
    assert (await http.get("/wp-json/wc/v3/system_status")).status_code == 401
    body = (await http.get("/wp-json/wc/v3/system_status", auth=BASIC)).json()
    assert body["environment"]["version"] == "9.4.2"
    assert body["environment"]["language"] == "en_US"
    assert body["settings"]["currency"] == "EUR"


async def test_a_host_that_strips_the_authorization_header() -> None:
    sandbox = WooSandbox(strip_authorization=True)
    async with _client(sandbox) as http:
        stripped = await http.get(PRODUCTS, auth=BASIC)
        query = await http.get(
            PRODUCTS,
            params={"consumer_key": DEMO_CONSUMER_KEY, "consumer_secret": DEMO_CONSUMER_SECRET},
        )
    assert stripped.status_code == 401
    assert stripped.json()["code"] == "woocommerce_rest_cannot_view"
    assert query.status_code == 200


async def test_html_firewall_answers_a_cloudflare_page() -> None:
    sandbox = WooSandbox(html_firewall=True)
    async with _client(sandbox) as http:
        for path in ("/wp-json/", PRODUCTS):
            response = await http.get(path, auth=BASIC)
            assert response.status_code == 403
            assert response.headers["content-type"].startswith("text/html")
            assert "Cloudflare" in response.text


async def test_faults_answer_503_and_every_call_is_logged_without_its_query() -> None:
    sandbox = WooSandbox(faults=Faults(error_rate=1.0))
    async with _client(sandbox) as http:
        response = await http.get(
            PRODUCTS,
            params={"consumer_key": DEMO_CONSUMER_KEY, "consumer_secret": DEMO_CONSUMER_SECRET},
        )
    assert response.status_code == 503
    assert [(c.method, c.path, c.status) for c in sandbox.calls] == [("GET", PRODUCTS, 503)]
    assert DEMO_CONSUMER_SECRET not in repr(sandbox.calls)


# --- OAuth 1.0a over http -----------------------------------------------------------------


async def test_oauth1_signatures_are_verified_over_http() -> None:
    sandbox = WooSandbox(catalog=Catalog(30))
    async with _client(sandbox, "http://shop.test") as http:
        assert (await http.get(PRODUCTS, auth=BASIC)).status_code == 401  # Basic needs https
        for sha1 in (False, True):
            url = _oauth_url(f"http://shop.test{PRODUCTS}?per_page=5&page=2", sha1=sha1)
            response = await http.get(url)
            assert response.status_code == 200, response.text
            assert len(response.json()) == 5
        batch = await http.post(_oauth_url(f"http://shop.test{PRODUCTS}/batch", "POST"), json={})
        assert batch.status_code == 200


async def test_a_tampered_oauth1_request_is_refused() -> None:
    sandbox = WooSandbox()
    async with _client(sandbox, "http://shop.test") as http:
        url = _oauth_url(f"http://shop.test{PRODUCTS}?per_page=1")
        response = await http.get(url.replace("per_page=1", "per_page=2"))
        wrong_secret = await http.get(_oauth_url(f"http://shop.test{PRODUCTS}", secret="cs_x"))
        other_host = await http.get(url, headers={"Host": "evil.test"})
    for refused in (response, wrong_secret, other_host):
        assert refused.status_code == 401
        assert refused.json()["message"] == "Invalid signature - provided signature does not match."


async def test_a_replayed_or_stale_oauth1_request_is_refused() -> None:
    sandbox = WooSandbox()
    async with _client(sandbox, "http://shop.test") as http:
        url = _oauth_url(f"http://shop.test{PRODUCTS}")
        first, replay = await http.get(url), await http.get(url)
        stale = await http.get(
            _oauth_url(f"http://shop.test{PRODUCTS}", timestamp=str(int(time.time()) - 3600))
        )
        partial = await http.get(f"{PRODUCTS}?oauth_consumer_key={DEMO_CONSUMER_KEY}")
    assert first.status_code == 200
    assert replay.json()["message"] == "Invalid nonce - nonce has already been used."
    assert stale.json()["message"] == "Invalid timestamp."
    assert partial.status_code == 401
    assert partial.json()["code"] == "woocommerce_rest_authentication_missing_parameter"


async def test_basic_auth_with_a_malformed_header_is_no_credentials(sandbox_http: Any) -> None:
    _, http = sandbox_http
    header = "Basic " + base64.b64encode(b"no-colon-here").decode()
    response = await http.get(PRODUCTS, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"
