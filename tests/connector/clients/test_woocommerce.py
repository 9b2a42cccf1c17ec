"""The WooCommerce client against the sandbox store: in-process (httpx's ASGI transport, over
https://shop.test and http://shop.test) and over real loopback (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from connector.clients.woocommerce import WooClient, normalize_store_url
from connector.errors import ConnectorError, CredentialsRefused, RemoteUnavailable, UsageError
from connector.redact import setup_logging
from connector.sandbox.catalog import Catalog
from connector.sandbox.faults import Faults
from connector.sandbox.woocommerce import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    READ_ONLY_CONSUMER_KEY,
    READ_ONLY_CONSUMER_SECRET,
    WooSandbox,
)
from connector.secret import Secret

HTTPS = "https://shop.test"
HTTP = "http://shop.test"
PRODUCTS = "/wp-json/wc/v3/products"
KEYS = {
    DEMO_CONSUMER_KEY: (DEMO_CONSUMER_SECRET, "read_write"),
    READ_ONLY_CONSUMER_KEY: (READ_ONLY_CONSUMER_SECRET, "read"),
}
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _client(
    app: Any,
    url: str = HTTPS,
    *,
    key: str = DEMO_CONSUMER_KEY,
    secret: str = DEMO_CONSUMER_SECRET,
    **kwargs: Any,
) -> WooClient:
    kwargs.setdefault("retry_wait", 0.001)
    transport = httpx.ASGITransport(app=app) if app is not None else None
    return WooClient(
        url=url,
        consumer_key=Secret(key),
        consumer_secret=Secret(secret),
        transport=transport,
        **kwargs,
    )


def _assert_no_secret(error: BaseException, *secrets: str) -> None:
    text = "".join(traceback.format_exception(error))
    assert isinstance(error, ConnectorError)
    for secret in (DEMO_CONSUMER_SECRET, READ_ONLY_CONSUMER_SECRET, *secrets):
        assert secret not in f"{error.message} {error.hint} {text}"


@asynccontextmanager
async def serve(
    app: Any, *, cert: Path | None = None, key: Path | None = None
) -> AsyncIterator[str]:
    """The app on 127.0.0.1 (a free port), in this event loop; yields its base URL, https://
    when a certificate and its key are given."""
    tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)} if cert and key else {}
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="critical", lifespan="off", **tls
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _html_site(status: int = 404, body: str = "<!DOCTYPE html><html><body>Hi</body></html>",
               content_type: bytes = b"text/html; charset=UTF-8") -> ASGIApp:
    """Any web server that is not WordPress."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": body.encode()})

    return app


# --- the store URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("shop.example.com", "https://shop.example.com"),
        ("  https://shop.example.com/  ", "https://shop.example.com"),
        ("HTTPS://Shop.Example.COM", "https://shop.example.com"),
        ("http://shop.example.com/wp-json", "http://shop.example.com"),
        ("https://shop.example.com/wp-json/", "https://shop.example.com"),
        ("https://example.com/shop/wp-json/wc/v3/products", "https://example.com/shop"),
        ("https://shop.example.com/wp-admin/admin.php?page=wc-settings&tab=advanced",
         "https://shop.example.com"),
        ("https://example.com/blog/", "https://example.com/blog"),
        ("localhost:8080", "https://localhost:8080"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://shop.example.com:80/", "http://shop.example.com"),
        ("//shop.example.com", "https://shop.example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://boutique.café.fr", "https://boutique.café.fr"),
    ],
)
def test_normalize_store_url(given: str, expected: str) -> None:
    assert normalize_store_url(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://shop.example.com", "https:// or http://"),
        ("mailto:me@example.com", "https:// or http://"),
        ("javascript:alert(1)", "https:// or http://"),
        ("https://admin:hunter2@shop.example.com", "user name or password"),
        ("https://", "host name"),
        ("https://shop example.com", "spaces"),
        ("https://shop.example.com:99999", "malformed"),
        ("https://shop..example.com", "host name"),
        ("https://-shop.example.com", "host name"),
        ("https://shop.example.com/?p=12", "'?' or '#'"),
    ],
)
def test_normalize_store_url_refuses_with_one_clear_line(given: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        normalize_store_url(given)
    error = caught.value
    assert error.exit_code == 2
    assert fragment in error.message
    assert "\n" not in error.one_line()
    assert "hunter2" not in error.one_line()


# --- connecting ---------------------------------------------------------------------------


async def test_connect_over_https_uses_basic_and_returns_display_details() -> None:
    sandbox = WooSandbox(store_name="Tom &amp; Jerry's Shop", currency="CHF", language="fr_CH")
    async with _client(sandbox.app) as client:
        details = await client.connect()
    assert details == {
        "url": HTTPS,
        "store_name": "Tom & Jerry's Shop",
        "wc_version": "9.4.2",
        "currency": "CHF",
        "language": "fr_CH",
        "key_last7": DEMO_CONSUMER_KEY[-7:],
        "permission": "read_write",
        "auth_mode": "basic",
        "api_root": f"{HTTPS}/wp-json/",
        "permalinks": "pretty",
    }
    assert all(call.status == 200 for call in sandbox.calls)
    assert DEMO_CONSUMER_SECRET not in json.dumps(details)


async def test_connect_over_http_signs_with_oauth1() -> None:
    sandbox = WooSandbox()
    async with _client(sandbox.app, HTTP) as client:
        details = await client.connect()
    assert details["auth_mode"] == "oauth1"
    assert [c.status for c in sandbox.calls] == [200, 200, 200, 200]


async def test_stripped_authorization_falls_back_to_the_query_string_and_remembers() -> None:
    sandbox = WooSandbox(catalog=Catalog(250), strip_authorization=True)
    async with _client(sandbox.app) as client:
        details = await client.connect()
        pages = [page async for page in client.iter_product_pages()]
        assert client.auth_mode == "query"
    assert details["auth_mode"] == "query"
    assert sum(len(page) for page in pages) == 250
    refused = [c for c in sandbox.calls if c.status == 401]
    # the first Basic request, then the two probes (Basic, query) with a wrong secret that
    # prove the header stripped; then query is kept
    assert len(refused) == 3, refused
    assert details["auth_notice"] == client.auth_notice
    assert "Authorization header" in details["auth_notice"]
    assert "\n" not in details["auth_notice"]


async def test_a_remembered_query_mode_goes_straight_to_the_query_string() -> None:
    sandbox = WooSandbox(strip_authorization=True)
    async with _client(sandbox.app, auth_mode="query") as client:
        await client.connect()
    assert all(call.status == 200 for call in sandbox.calls)


async def test_system_status_failing_does_not_prevent_connecting() -> None:
    sandbox = WooSandbox(faults=Faults(error_rate=1.0, only_paths=("/wp-json/wc/v3/system",)))
    async with _client(sandbox.app, attempts=2) as client:
        details = await client.connect()
    assert details["wc_version"] is None and details["store_name"] == "Demo Store"


# --- every error a merchant can meet ------------------------------------------------------


async def _connect_error(app: Any, url: str = HTTPS, **kwargs: Any) -> ConnectorError:
    async with _client(app, url, **kwargs) as client:
        with pytest.raises(ConnectorError) as caught:
            await client.connect()
    _assert_no_secret(caught.value, kwargs.get("secret", DEMO_CONSUMER_SECRET))
    assert "\n" not in caught.value.one_line()
    return caught.value


async def test_not_wordpress_html() -> None:
    error = await _connect_error(_html_site(404))
    assert isinstance(error, RemoteUnavailable) and error.exit_code == 4
    assert error.message == f"{HTTPS} is not a WordPress site (no REST API at /wp-json/)."


async def test_not_wordpress_other_json_api() -> None:
    error = await _connect_error(
        _html_site(200, '{"hello": "world"}', content_type=b"application/json")
    )
    assert isinstance(error, RemoteUnavailable)
    assert "is not a WordPress site" in error.message


async def test_woocommerce_not_active() -> None:
    error = await _connect_error(WooSandbox(woocommerce_active=False).app)
    assert isinstance(error, RemoteUnavailable)
    assert "WooCommerce is not active" in error.message
    assert "Plugins" in error.hint


@pytest.mark.parametrize("url", [HTTPS, HTTP])
async def test_unknown_key(url: str) -> None:
    error = await _connect_error(WooSandbox().app, url, key="ck_" + "1" * 40)
    assert isinstance(error, CredentialsRefused) and error.exit_code == 3
    assert error.message == "WooCommerce does not know this consumer key."
    assert "WooCommerce › Settings › Advanced › REST API" in error.hint


@pytest.mark.parametrize("url", [HTTPS, HTTP])
async def test_wrong_secret(url: str) -> None:
    wrong = "cs_" + "2" * 40
    error = await _connect_error(WooSandbox().app, url, secret=wrong)
    assert isinstance(error, CredentialsRefused)
    assert error.message.startswith("The consumer secret does not match this key")
    assert "WooCommerce › Settings › Advanced › REST API" in error.hint


@pytest.mark.parametrize("strip", [False, True], ids=["header-arrives", "header-stripped"])
async def test_an_unknown_key_over_https_never_sends_the_secret_in_a_query_string(
    strip: bool,
) -> None:
    """WooCommerce answers an unknown key like no credentials (cannot_view), as when the host
    strips the header; the probes use a wrong secret, so the real one stays out of URLs."""
    sandbox = WooSandbox(strip_authorization=strip)
    unknown = "ck_" + "1" * 40
    error = await _connect_error(sandbox.app, key=unknown)
    assert isinstance(error, CredentialsRefused) and error.exit_code == 3
    assert error.message == "WooCommerce does not know this consumer key."
    assert sandbox.query_credentials, "the query-string probe was sent"
    assert all(secret != DEMO_CONSUMER_SECRET for _key, secret in sandbox.query_credentials)
    assert len([c for c in sandbox.calls if c.path == PRODUCTS]) == 3  # request + 2 probes


async def test_a_stripped_header_is_proven_then_the_merchant_is_told() -> None:
    sandbox = WooSandbox(strip_authorization=True)
    async with _client(sandbox.app) as client:
        details = await client.connect()
    assert details["auth_mode"] == "query"
    assert "strips the Authorization header" in details["auth_notice"]
    assert "URL" in details["auth_notice"]
    secrets_sent = [secret for _key, secret in sandbox.query_credentials]
    assert secrets_sent[0] != DEMO_CONSUMER_SECRET, "the probe carries a wrong secret"
    assert secrets_sent[1:] and set(secrets_sent[1:]) == {DEMO_CONSUMER_SECRET}


async def test_a_wrong_secret_behind_a_stripping_host_is_named() -> None:
    sandbox = WooSandbox(strip_authorization=True)
    error = await _connect_error(sandbox.app, secret="cs_" + "2" * 40)
    assert isinstance(error, CredentialsRefused)
    assert error.message.startswith("The consumer secret does not match this key")


async def test_cannot_view_with_the_header_arriving_is_about_the_role() -> None:
    """A Customer's key: Basic arrives (a wrong secret is named), the user may not list
    products. No query-string request at all."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/wp-json/":
            return httpx.Response(200, json={"name": "Shop", "namespaces": ["wc/v3"]})
        header = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(
            f"{DEMO_CONSUMER_KEY}:{DEMO_CONSUMER_SECRET}".encode()
        ).decode()
        if header == expected:
            return httpx.Response(
                401,
                json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot "
                      "list resources.", "data": {"status": 401}},
            )  # fmt: skip
        return httpx.Response(
            401,
            json={"code": "woocommerce_rest_authentication_error",
                  "message": "Consumer secret is invalid.", "data": {"status": 401}},
        )  # fmt: skip

    client = WooClient(
        url=HTTPS,
        consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET),
        transport=httpx.MockTransport(answer),
    )
    async with client:
        with pytest.raises(CredentialsRefused) as caught:
            await client.connect()
    assert "Administrator or Shop manager" in caught.value.hint
    assert client.auth_mode == "basic" and client.auth_notice is None
    assert not any("consumer_secret" in str(r.url) for r in seen)


@pytest.mark.parametrize("url", [HTTPS, HTTP])
async def test_read_only_key(url: str) -> None:
    sandbox = WooSandbox(keys=KEYS)
    error = await _connect_error(
        sandbox.app, url, key=READ_ONLY_CONSUMER_KEY, secret=READ_ONLY_CONSUMER_SECRET
    )
    assert isinstance(error, CredentialsRefused)
    assert error.message == "This key is read-only; create a Read/Write key."


async def test_firewall_html_page_names_the_status() -> None:
    error = await _connect_error(WooSandbox(html_firewall=True).app)
    assert isinstance(error, RemoteUnavailable)
    assert "HTML page (HTTP 403)" in error.message and "firewall or CDN" in error.message


async def test_firewall_blocking_only_the_api_is_still_a_firewall() -> None:
    sandbox = WooSandbox()
    async with _client(sandbox.app) as client:
        await client.check_store()
        sandbox.html_firewall = True
        with pytest.raises(RemoteUnavailable) as caught:
            await client.check_credentials()
    assert "HTML page (HTTP 403)" in caught.value.message


async def test_a_server_error_is_retried_then_reported() -> None:
    sandbox = WooSandbox(faults=Faults(error_rate=1.0))
    error = await _connect_error(sandbox.app, attempts=3)
    assert isinstance(error, RemoteUnavailable)
    assert "HTTP 503" in error.message
    assert [c.status for c in sandbox.calls] == [503, 503, 503]


@pytest.mark.parametrize(
    ("location", "named"),
    [(b"https://www.shop.test/wp-json/", "https://www.shop.test"),
     (b"/boutique/wp-json/", "https://shop.test/boutique")],
)
async def test_a_redirect_names_the_address_to_use(location: bytes, named: str) -> None:
    async def moved(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 301,
                    "headers": [(b"location", location)]})
        await send({"type": "http.response.body", "body": b""})

    error = await _connect_error(moved)
    assert error.message == f"{HTTPS} redirects to {named}."


# --- reading the catalog ------------------------------------------------------------------


class InFlight:
    """Counts the requests a server is answering at once (test instrumentation only)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.peak = 0
        self.answered_pages = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1
            if scope.get("path") == PRODUCTS:
                self.answered_pages += 1


@pytest.mark.parametrize("url", [HTTPS, HTTP])
async def test_paging_a_thousand_products_with_bounded_concurrency(url: str) -> None:
    sandbox = WooSandbox(catalog=Catalog(1000), faults=Faults(latency=0.003))
    counted = InFlight(sandbox.app)
    seen: list[int] = []
    async with _client(counted, url, concurrency=3) as client:
        page_number = 0
        async for page in client.iter_product_pages(per_page=50):
            page_number += 1
            seen.extend(product["id"] for product in page)
            # Never more than `concurrency` pages fetched ahead of the consumer.
            assert counted.answered_pages <= page_number + 3
            await asyncio.sleep(0.002)  # a consumer that takes its time
        assert client.total_products == 1000
    assert seen == list(sandbox.catalog.product_ids())
    assert len(set(seen)) == 1000
    assert 2 <= counted.peak <= 3


async def test_paging_survives_server_errors_and_filters_by_status() -> None:
    sandbox = WooSandbox(catalog=Catalog(600), faults=Faults(error_rate=0.3, seed=4))
    async with _client(sandbox.app, attempts=8) as client:
        drafts = [p async for page in client.iter_product_pages(status="draft") for p in page]
    assert [p["id"] for p in drafts] == list(sandbox.catalog.product_ids("draft"))
    assert any(call.status == 503 for call in sandbox.calls)


async def test_stopping_early_cancels_the_pages_fetched_ahead() -> None:
    sandbox = WooSandbox(catalog=Catalog(1000), faults=Faults(latency=0.01))
    async with _client(sandbox.app, concurrency=4) as client:
        pages = client.iter_product_pages(per_page=10)
        async for _page in pages:
            break
        await pages.aclose()
        answered = len(sandbox.calls)
        await asyncio.sleep(0.05)
        assert len(sandbox.calls) == answered, "nothing keeps fetching after the consumer left"
        assert (await client.get_product(10))["id"] == 10  # the client is still usable
    assert answered <= 1 + 4


async def test_an_empty_store_yields_no_pages() -> None:
    async with _client(WooSandbox(catalog=Catalog(0)).app) as client:
        assert [page async for page in client.iter_product_pages()] == []


async def test_variations_of_a_product_across_pages() -> None:
    catalog = Catalog(40)
    parent = next(p for p in catalog.iter_products() if p["type"] == "variable")
    for i in range(150):
        catalog.add_variation(parent["id"], regular_price=f"{10 + i}.00")
    async with _client(WooSandbox(catalog=catalog).app) as client:
        variations = await client.list_variations(parent["id"])
        simple = next(p for p in catalog.iter_products() if p["type"] == "simple")
        assert await client.list_variations(simple["id"]) == []
    assert [v["id"] for v in variations] == catalog.variation_ids(parent["id"])
    assert len(variations) == len(parent["variations"]) + 150


async def test_the_secret_stays_out_of_the_log_even_in_the_query_string(tmp_path: Path) -> None:
    log_file = tmp_path / "connector.log"
    setup_logging(str(log_file), logging.DEBUG)
    try:
        sandbox = WooSandbox(strip_authorization=True)
        async with _client(sandbox.app) as client:
            await client.connect()
            async for _page in client.iter_product_pages():
                pass
        async with _client(sandbox.app, secret="cs_" + "9" * 40) as client:
            with pytest.raises(CredentialsRefused):
                await client.connect()
    finally:
        setup_logging(None)
    text = log_file.read_text()
    assert "consumer_secret=" in text, "the query-string form was used and logged"
    assert DEMO_CONSUMER_SECRET not in text
    assert "cs_" + "9" * 40 not in text


# --- over real loopback -------------------------------------------------------------------


async def test_over_loopback_http_uses_oauth1_end_to_end() -> None:
    sandbox = WooSandbox(catalog=Catalog(320))
    async with serve(sandbox.app) as base, _client(None, base) as client:
        details = await client.connect()
        ids = [p["id"] async for page in client.iter_product_pages() for p in page]
        parent = next(p for p in sandbox.catalog.iter_products() if p["type"] == "variable")
        variations = await client.list_variations(parent["id"])
    assert details["auth_mode"] == "oauth1" and details["url"] == base
    assert ids == list(sandbox.catalog.product_ids())
    assert [v["id"] for v in variations] == parent["variations"]


async def test_over_loopback_a_wrong_secret_is_refused() -> None:
    async with serve(WooSandbox().app) as base:
        error = await _connect_error(None, base, secret="cs_" + "3" * 40)
    assert isinstance(error, CredentialsRefused)


async def test_over_loopback_a_slow_store_times_out() -> None:
    sandbox = WooSandbox(faults=Faults(latency=0.6))
    async with serve(sandbox.app) as base:
        error = await _connect_error(None, base, timeout=0.1, attempts=2)
    assert isinstance(error, RemoteUnavailable)
    assert error.message == f"{base} did not answer in time (0.1 s)."


async def test_over_loopback_tls_to_a_plain_http_port_is_a_tls_error() -> None:
    async with serve(WooSandbox().app) as base:
        error = await _connect_error(None, base.replace("http://", "https://"))
    assert isinstance(error, RemoteUnavailable)
    assert error.message.startswith("No secure connection to https://127.0.0.1:")


async def test_unreachable_store() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _connect_error(None, f"http://127.0.0.1:{port}", attempts=2)
    assert isinstance(error, RemoteUnavailable) and error.exit_code == 4
    assert error.message.startswith(f"Cannot reach http://127.0.0.1:{port}")


# --- a flaky network, and what reading leaves behind ------------------------------------------


class DropsFirst(httpx.AsyncBaseTransport):
    """A network that drops the first connection, then carries requests to the store."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.dropped:
            self.dropped += 1
            raise httpx.ConnectError("connection reset by peer", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_dropped_connection_is_tried_again() -> None:
    sandbox = WooSandbox(catalog=Catalog(120))
    transport = DropsFirst(sandbox.app)
    client = WooClient(
        url=HTTPS,
        consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET),
        transport=transport,
        retry_wait=0.001,
    )
    async with client:
        products = [p async for page in client.iter_product_pages() for p in page]
    assert transport.dropped == 1
    assert len(products) == 120


async def test_reading_pages_leaves_nothing_for_the_cyclic_garbage_collector() -> None:
    """A sync reads hundreds of pages a second; garbage in reference cycles would make
    Python's collector stop the event loop (and the screen) again and again."""
    sandbox = WooSandbox(catalog=Catalog(300))
    async with _client(sandbox.app) as client:
        [page async for page in client.iter_product_pages(per_page=20)]  # warm: pool, caches
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            pages = [page async for page in client.iter_product_pages(per_page=20)]
            del pages
            gc.collect()
            left = [type(o).__module__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert not [m for m in left if m.startswith(("httpx", "httpcore", "tenacity"))]
