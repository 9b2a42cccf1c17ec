"""The WooCommerce client against what a real WordPress 6.4 + WooCommerce 8.2 store answers
(the sandbox posing as one): plain permalinks, OAuth checked against the home URL, and the
secrets that Link headers repeat."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.clients.woocommerce import WooClient, normalize_store_url
from connector.errors import CredentialsRefused
from connector.redact import setup_logging
from connector.sandbox.catalog import Catalog
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox
from connector.secret import Secret
from tests.connector.clients.test_woocommerce import serve

HTTPS = "https://shop.test"
HTTP = "http://shop.test"


def _client(app: Any, url: str, **kwargs: Any) -> WooClient:
    return WooClient(
        url=url,
        consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(kwargs.pop("secret", DEMO_CONSUMER_SECRET)),
        transport=httpx.ASGITransport(app=app) if app is not None else None,
        retry_wait=0.001,
        **kwargs,
    )


def _without_link_header(app: Any) -> Any:
    """A host (or cache) that drops WordPress's Link header."""

    async def stripped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def strip(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"link"]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, strip)

    return stripped


# --- plain permalinks ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [HTTPS, HTTP], ids=["https-basic", "http-oauth1"])
async def test_a_plain_permalinks_store_connects_and_reads_through_rest_route(url: str) -> None:
    sandbox = WooSandbox(catalog=Catalog(150), permalinks="plain", wc_version="8.2.2")
    async with _client(sandbox.app, url) as client:
        details = await client.connect()
        products = [p async for page in client.iter_product_pages() for p in page]
        parent = next(p for p in products if p["type"] == "variable")
        variations = await client.list_variations(parent["id"])
    assert details["permalinks"] == "plain"
    assert details["api_root"] == f"{url}/index.php?rest_route=/"
    assert details["store_name"] == "Demo Store" and details["wc_version"] == "8.2.2"
    assert [p["id"] for p in products] == list(sandbox.catalog.product_ids())
    assert [v["id"] for v in variations] == parent["variations"]
    api_calls = [c for c in sandbox.calls if c.path.startswith("/wp-json/wc/")]
    assert api_calls and all(c.rest_route and c.status == 200 for c in api_calls)


async def test_without_the_link_header_the_api_is_found_at_rest_route() -> None:
    """`/?rest_route=` is signed as WooCommerce rebuilds it: `http://home`, with no slash."""
    sandbox = WooSandbox(catalog=Catalog(30), permalinks="plain")
    async with _client(_without_link_header(sandbox.app), HTTP) as client:
        details = await client.connect()
        products = [p async for page in client.iter_product_pages() for p in page]
    assert details["api_root"] == f"{HTTP}/?rest_route=/"
    assert len(products) == 30


async def test_a_client_from_old_details_finds_the_plain_api_by_itself() -> None:
    """An account saved before (no api_root) or a store whose permalinks were switched since:
    the first redirect makes the client look once, then it reads on."""
    sandbox = WooSandbox(catalog=Catalog(250), permalinks="plain")
    async with _client(sandbox.app, HTTP, auth_mode="oauth1") as client:
        products = [p async for page in client.iter_product_pages() for p in page]
        assert client.permalinks == "plain"
    assert len(products) == 250
    assert [c.status for c in sandbox.calls if c.path == "/wp-json/wc/v3/products"][0] == 301


async def test_a_saved_api_root_is_used_without_asking_the_index() -> None:
    sandbox = WooSandbox(catalog=Catalog(20), permalinks="plain")
    root = f"{HTTPS}/index.php?rest_route=/"
    async with _client(sandbox.app, HTTPS, api_root=root, auth_mode="basic") as client:
        products = [p async for page in client.iter_product_pages() for p in page]
    assert len(products) == 20
    assert all(c.rest_route for c in sandbox.calls)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://shop.example.com/?rest_route=/", "http://shop.example.com"),
        (
            "http://shop.example.com/?rest_route=/wc/v3/products&per_page=5",
            "http://shop.example.com",
        ),
        ("https://shop.example.com/index.php?rest_route=/", "https://shop.example.com"),
        ("https://example.com/shop/index.php", "https://example.com/shop"),
        ("shop.example.com/index.php/", "https://shop.example.com"),
    ],
)
def test_a_url_in_the_plain_permalinks_form_is_understood(given: str, expected: str) -> None:
    assert normalize_store_url(given) == expected


async def test_the_plain_form_of_the_url_connects() -> None:
    sandbox = WooSandbox(permalinks="plain")
    async with _client(sandbox.app, f"{HTTP}/index.php?rest_route=/wc/v3") as client:
        details = await client.connect()
    assert details["url"] == HTTP and details["permalinks"] == "plain"


async def test_over_loopback_a_plain_permalinks_store_signs_index_php() -> None:
    sandbox = WooSandbox(catalog=Catalog(120), permalinks="plain")
    async with serve(sandbox.app) as base, _client(None, base) as client:
        details = await client.connect()
        products = [p async for page in client.iter_product_pages() for p in page]
    assert details["auth_mode"] == "oauth1" and details["api_root"].endswith(
        "/index.php?rest_route=/"
    )
    assert len(products) == 120


# --- OAuth against the home URL -----------------------------------------------------------


async def test_oauth_is_signed_for_the_home_url_while_sent_to_the_address_given() -> None:
    sandbox = WooSandbox(catalog=Catalog(40), home_url="http://127.0.0.1:8082")
    async with _client(sandbox.app, "http://localhost:8082") as client:
        details = await client.connect()
        products = [p async for page in client.iter_product_pages() for p in page]
    assert details["url"] == "http://localhost:8082"
    assert details["home_url"] == "http://127.0.0.1:8082"
    assert len(products) == 40
    assert all(c.status == 200 for c in sandbox.calls)


async def test_the_same_home_and_address_saves_no_home_url() -> None:
    async with _client(WooSandbox().app, HTTP) as client:
        details = await client.connect()
    assert "home_url" not in details


async def test_a_client_from_old_details_finds_the_home_url_by_itself() -> None:
    sandbox = WooSandbox(catalog=Catalog(30), home_url="http://www.shop.test")
    async with _client(sandbox.app, HTTP, auth_mode="oauth1") as client:
        products = [p async for page in client.iter_product_pages() for p in page]
        assert client.home_url == "http://www.shop.test"
    assert len(products) == 30


async def test_a_saved_home_url_signs_right_the_first_time() -> None:
    sandbox = WooSandbox(catalog=Catalog(10), home_url="http://www.shop.test")
    async with _client(sandbox.app, HTTP, home_url="http://www.shop.test") as client:
        [p async for page in client.iter_product_pages() for p in page]
    assert [c.status for c in sandbox.calls] == [200]


async def test_a_wrong_secret_is_still_a_wrong_secret_when_the_home_differs() -> None:
    sandbox = WooSandbox(home_url="http://127.0.0.1:8082")
    async with _client(sandbox.app, "http://localhost:8082", secret="cs_" + "4" * 40) as client:
        with pytest.raises(CredentialsRefused) as caught:
            await client.connect()
    assert caught.value.message.startswith("The consumer secret does not match this key")


# --- what Link headers carry --------------------------------------------------------------


async def test_link_headers_carry_the_secret_and_the_log_never_does(tmp_path: Path) -> None:
    """WordPress repeats the whole query string in prev/next links: with the query-string
    form, consumer_secret in clear. The client logs no response header."""
    sandbox = WooSandbox(catalog=Catalog(250), strip_authorization=True)
    seen_links: list[str] = []

    async def keep_links(response: httpx.Response) -> None:
        seen_links.extend(response.headers.get_list("link"))

    log_file = tmp_path / "connector.log"
    setup_logging(str(log_file), logging.DEBUG)
    try:
        async with _client(sandbox.app, HTTPS) as client:
            client._http.event_hooks["response"].append(keep_links)
            await client.connect()
            [p async for page in client.iter_product_pages() for p in page]
    finally:
        setup_logging(None)
    assert any(f"consumer_secret={DEMO_CONSUMER_SECRET}" in link for link in seen_links)
    text = log_file.read_text()
    assert "consumer_secret=" in text  # the requests were logged, their secret masked
    assert DEMO_CONSUMER_SECRET not in text
