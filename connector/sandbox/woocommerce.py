"""A WooCommerce store as its REST API v3 behaves: the WordPress index, products, variations,
both authentication modes and the documented error bodies.

Authentication follows WooCommerce's `WC_REST_Authentication`: over https (the ASGI scope's
scheme) HTTP Basic with the key and secret, or the same two in the query string; otherwise
(and as a fallback over https) OAuth 1.0a one-legged in the query string, checked as
WooCommerce does: against WordPress's home URL plus the request path, not the Host header.

Addresses as WordPress gives them: `?rest_route=/…` (on `/` or `/index.php`) always reaches
the API; with pretty permalinks `/wp-json/…` does too, with plain permalinks (`permalinks=
"plain"`, WordPress's default where rewriting is not detected) `/wp-json/` is the HTML home
page and `/wp-json/<route>` a 301 to `<route>/`. Every answer names the API root in a
`Link: <…>; rel="https://api.w.org/"` header.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from connector.sandbox.catalog import Catalog
from connector.sandbox.faults import FaultMiddleware, Faults
from connector.sandbox.php import PhpWorkers

DEMO_CONSUMER_KEY = "ck_4f1c2e9a7b3d5f6081a2c4e6b8d0f1a3c5e7a9b2"
DEMO_CONSUMER_SECRET = "cs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
READ_ONLY_CONSUMER_KEY = "ck_0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
READ_ONLY_CONSUMER_SECRET = "cs_76543210fedcba9876543210fedcba9876543210"

OAUTH_WINDOW = 15 * 60  # seconds either side of the server's clock, as WooCommerce allows
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
# The share of item rendering a request asks for (see WooSandbox's CPU model), per request.
_WORK: contextvars.ContextVar[list[float]] = contextvars.ContextVar("woo_work")
_STATUS_ENUM = ("any", "future", "trash", "draft", "pending", "private", "publish")

_FIREWALL_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8"><meta name="robots" content="noindex, nofollow"></head>
<body><div id="cf-wrapper"><div id="cf-error-details">
<h1>Sorry, you have been blocked</h1>
<h2>You are unable to access this website</h2>
<p>This website is using a security service to protect itself from online attacks.</p>
<p>Cloudflare Ray ID: <strong>8c2f3d4e5a6b7c8d</strong></p>
</div></div></body></html>
"""
_HOME_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>{name}</title></head>
<body class="home blog"><h1>{name}</h1><p>Just another WordPress site</p></body></html>
"""
_NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Page not found &#8211; {name}</title></head>
<body class="error404"><h1>Oops! That page can&rsquo;t be found.</h1></body></html>
"""


@dataclass(frozen=True, slots=True)
class Call:
    """One request the sandbox answered (the path carries no query, so no credential)."""

    method: str
    path: str
    status: int
    time: float
    rest_route: bool = False  # reached through `?rest_route=` rather than /wp-json/
    fields: str | None = None  # the request's `_fields`, as sent


class _WooError(Exception):
    """A WP_Error on its way out: becomes `{"code","message","data":{"status"}}`."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = data

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "code": self.code,
                "message": self.message,
                "data": {"status": self.status, **self.data},
            },
            status_code=self.status,
        )


def _auth_error(message: str) -> _WooError:
    return _WooError(401, "woocommerce_rest_authentication_error", message)


class WooSandbox:
    """A WooCommerce store for tests and the demo; `.app` is the ASGI application.

    `strip_authorization` (a host that drops the Authorization header before PHP sees it),
    `html_firewall`, `woocommerce_active` and `permalinks` are read on every request, so a test
    may flip them between calls. `home_url` is WordPress's home URL (the index's `home` and
    `url`, what OAuth signatures are checked against); None means the address each request
    came to. `site_path` (e.g. "/shop") serves WordPress from a sub-folder of the host: the
    home URL ends with it, and a path outside it is the host's own 404 page. A `wc_version`
    before 9.2 has no `global_unique_id`. `.calls` logs every answered
    request, `.query_credentials` the key and secret of every https request that carried
    them in its query string.

    `_fields` is honoured as WordPress does (`rest_filter_response_fields`): only the keys
    named, a dotted name (`environment.version`) keeping that key of an object.

    Two models of what a request costs the store, which may be combined: `faults.latency`
    (each request waits, concurrently: a remote host seen through the network) and CPU, as
    a PHP store spends it: with `cpu_per_request` or `cpu_per_item` set, each request burns
    `cpu_per_request` plus `cpu_per_item` for each product or variation it renders, scaled by
    the share of the item's fields it asks for (WooCommerce's controllers compute only the
    `_fields` asked), in a pool of `workers` processes: beyond `workers` requests in flight,
    they queue (PHP-FPM). `cpu_seconds` is the CPU the pool spent; `peak_in_flight` the most
    requests the store held at once. `close()` ends the pool.
    """

    def __init__(
        self,
        *,
        catalog: Catalog | None = None,
        keys: dict[str, tuple[str, str]] | None = None,
        store_name: str = "Demo Store",
        woocommerce_active: bool = True,
        strip_authorization: bool = False,
        html_firewall: bool = False,
        faults: Faults | None = None,
        wc_version: str = "9.4.2",
        currency: str = "EUR",
        language: str = "en_US",
        clock: Callable[[], float] = time.time,
        permalinks: str = "pretty",
        home_url: str | None = None,
        site_path: str = "",
        cpu_per_request: float = 0.0,
        cpu_per_item: float = 0.0,
        workers: int = 2,
    ) -> None:
        if permalinks not in ("pretty", "plain"):
            raise ValueError("permalinks is 'pretty' or 'plain'")
        self.permalinks = permalinks
        self.home_url = home_url.rstrip("/") if home_url else None
        self.site_path = "/" + site_path.strip("/") if site_path.strip("/") else ""
        self.catalog = catalog if catalog is not None else Catalog(200)
        self.keys: dict[str, tuple[str, str]] = (
            dict(keys)
            if keys is not None
            else {DEMO_CONSUMER_KEY: (DEMO_CONSUMER_SECRET, "read_write")}
        )
        self.store_name = store_name
        self.woocommerce_active = woocommerce_active
        self.strip_authorization = strip_authorization
        self.html_firewall = html_firewall
        self.faults = faults
        self.wc_version = wc_version
        self.currency = currency
        self.language = language
        self.calls: list[Call] = []
        #: (consumer_key, consumer_secret) of every request that carried them in its query
        #: string over https: what a host's access log would hold.
        self.query_credentials: list[tuple[str, str]] = []
        self._clock = clock
        self._nonces: dict[str, dict[str, float]] = {}  # key -> nonce -> timestamp
        self.cpu_per_request = cpu_per_request
        self.cpu_per_item = cpu_per_item
        self.php: PhpWorkers | None = (
            PhpWorkers(workers) if cpu_per_request > 0 or cpu_per_item > 0 else None
        )
        self.in_flight = 0
        self.peak_in_flight = 0

        routes = [
            Route("/", self._home_page, methods=["GET", "HEAD"]),
            Route("/wp-json", self._index, methods=["GET", "HEAD"]),
            Route("/wp-json/", self._index, methods=["GET", "HEAD"]),
            Route("/wp-json/wc/v3/products", self._list_products, methods=["GET", "HEAD"]),
            Route("/wp-json/wc/v3/products/batch", self._batch, methods=["POST", "PUT", "PATCH"]),
            Route("/wp-json/wc/v3/products/{id:int}", self._get_product, methods=["GET", "HEAD"]),
            Route(
                "/wp-json/wc/v3/products/{id:int}/variations",
                self._list_variations,
                methods=["GET", "HEAD"],
            ),
            Route(
                "/wp-json/wc/v3/products/{id:int}/variations/{variation_id:int}",
                self._get_variation,
                methods=["GET", "HEAD"],
            ),
            Route("/wp-json/wc/v3/system_status", self._system_status, methods=["GET", "HEAD"]),
            Route("/{path:path}", self._no_route, methods=ALL_METHODS),
        ]
        inner: Any = Starlette(routes=routes)
        inner.router.redirect_slashes = False
        self._inner = inner
        app: Any = inner
        if faults is not None:
            app = FaultMiddleware(app, faults)
        self._wrapped = app
        self.app: Any = _LoggedApp(self)

    @property
    def cpu_seconds(self) -> float:
        return self.php.cpu_seconds if self.php is not None else 0.0

    def close(self) -> None:
        if self.php is not None:
            self.php.close()

    # --- ASGI -----------------------------------------------------------------------------

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Logs the call, plays the firewall when asked, then the store itself."""
        if scope["type"] != "http":
            await self._wrapped(scope, receive, send)
            return
        status_holder: list[int] = [0]
        if self.site_path:
            inside = self._inside_site(scope)
            if inside is None:  # not WordPress's folder: what the host serves there
                page = HTMLResponse("<html><body><h1>Not Found</h1></body></html>", 404)
                await page(scope, receive, send)
                self.calls.append(Call(scope["method"], scope["path"], 404, time.time()))
                return
            scope = inside
        scope = _rest_routed(scope)
        plain_wp_json = (
            self.permalinks == "plain"
            and "woo.request_path" not in scope
            and (scope["path"] == "/wp-json" or scope["path"].startswith("/wp-json/"))
        )

        async def logging_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"link", self._api_link(scope).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        held: list[dict[str, Any]] = []
        work = [0.0]
        reply = logging_send
        if self.php is not None:

            async def hold(message: dict[str, Any]) -> None:  # answered once the CPU is spent
                held.append(message)

            reply = hold
        token = _WORK.set(work)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._answer(scope, receive, reply, plain_wp_json)
            if self.php is not None:
                await self.php.run(self.cpu_per_request + self.cpu_per_item * work[0])
                for message in held:
                    await logging_send(message)
        finally:
            _WORK.reset(token)
            self.in_flight -= 1
            self.calls.append(
                Call(
                    scope["method"],
                    scope["path"],
                    status_holder[0],
                    time.time(),
                    rest_route="woo.request_path" in scope,
                    fields=_query_value(scope, "_fields"),
                )
            )

    async def _answer(
        self, scope: dict[str, Any], receive: Any, send: Any, plain_wp_json: bool
    ) -> None:
        if plain_wp_json:
            await self._plain_wp_json(scope)(scope, receive, send)
        elif self.html_firewall:
            page = HTMLResponse(
                _FIREWALL_PAGE,
                status_code=403,
                headers={"server": "cloudflare", "cf-ray": "8c2f3d4e5a6b7c8d-CDG"},
            )
            await page(scope, receive, send)
        else:
            await self._wrapped(scope, receive, send)

    def _inside_site(self, scope: dict[str, Any]) -> dict[str, Any] | None:
        """The request as routed inside the sub-folder (its path without `site_path`; the raw
        path, which OAuth signatures cover, kept whole), or None for a path outside it."""
        inside = self._site_relative(scope["path"])
        return None if inside == scope["path"] else {**scope, "path": inside}

    def _site_relative(self, path: str) -> str:
        """`path` past `site_path`; unchanged when it is outside (or there is no sub-folder)."""
        if self.site_path and (path == self.site_path or path.startswith(self.site_path + "/")):
            return path[len(self.site_path) :] or "/"
        return path

    def _home(self, scope: dict[str, Any]) -> str:
        """WordPress's home URL: the configured one, or where this request came to (with
        the sub-folder WordPress is served from)."""
        if self.home_url:
            return self.home_url
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not host and scope.get("server"):
            server_host, port = scope["server"]
            host = f"{server_host}:{port}"
        return f"{scope.get('scheme', 'http')}://{host}{self.site_path}"

    def _api_root(self, scope: dict[str, Any]) -> str:
        home = self._home(scope)
        if self.permalinks == "plain":
            return f"{home}/index.php?rest_route=/"
        return f"{home}/wp-json/"

    def _api_link(self, scope: dict[str, Any]) -> str:
        return f'<{self._api_root(scope)}>; rel="https://api.w.org/"'

    def _plain_wp_json(self, scope: dict[str, Any]) -> Response:
        """/wp-json/… without URL rewriting: WordPress's home page, or its canonical redirect
        adding a slash (the query string kept), after which no page is found."""
        path = scope["path"]
        if path in ("/wp-json", "/wp-json/"):
            return HTMLResponse(_HOME_PAGE.format(name=self.store_name))
        if path.endswith("/"):
            return HTMLResponse(_NOT_FOUND_PAGE.format(name=self.store_name), status_code=404)
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{self._home(scope)}{path}/" + (f"?{query}" if query else "")
        return Response(status_code=301, headers={"location": target})

    # --- routes ---------------------------------------------------------------------------

    async def _home_page(self, request: Request) -> Response:
        return HTMLResponse(_HOME_PAGE.format(name=self.store_name))

    async def _index(self, request: Request) -> Response:
        base = self._home(request.scope)
        namespaces = ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"]
        if self.woocommerce_active:
            namespaces[1:1] = ["wc/store/v1", "wc/v1", "wc/v2", "wc/v3", "wc-admin"]
        return _json_fields(
            request,
            {
                "name": self.store_name,
                "description": "Just another WordPress site",
                "url": base,
                "home": base,
                "gmt_offset": "0",
                "timezone_string": "UTC",
                "namespaces": namespaces,
                "authentication": {},
                "routes": {},
                "site_logo": 0,
                "site_icon": 0,
                "site_icon_url": "",
                "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
            },
        )

    async def _list_products(self, request: Request) -> Response:
        try:
            self._guard(request, "GET")
            per_page, page = _paging(request)
            status = request.query_params.get("status", "any")
            if status not in _STATUS_ENUM:
                raise _invalid_param(
                    "status", f"status is not one of {', '.join(_STATUS_ENUM[:-1])}, and publish."
                )
            self._require_user(
                request, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
            )
        except _WooError as error:
            return error.response()
        ids = self.catalog.product_ids(status)
        descending = request.query_params.get("order", "desc").lower() != "asc"
        window = _page_of(ids, per_page, page, descending=descending)
        base = self._home(request.scope)
        items = [self._shown(self.catalog.product(pid, base_url=base)) for pid in window]
        return self._collection(request, [i for i in items if i], len(ids), per_page, page)

    async def _get_product(self, request: Request) -> Response:
        try:
            self._guard(request, "GET")
            self._require_user(
                request, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."
            )
            product = self._shown(
                self.catalog.product(
                    int(request.path_params["id"]), base_url=self._home(request.scope)
                )
            )
            if product is None:
                raise _WooError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        except _WooError as error:
            return error.response()
        return JSONResponse(self._rendered(request, [product])[0])

    async def _list_variations(self, request: Request) -> Response:
        try:
            self._guard(request, "GET")
            per_page, page = _paging(request)
            self._require_user(
                request, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
            )
            product_id = int(request.path_params["id"])
        except _WooError as error:
            return error.response()
        # A missing product has no variations, and WooCommerce says just that: 200 [].
        ids = self.catalog.variation_ids(product_id)
        descending = request.query_params.get("order", "desc").lower() != "asc"
        window = _page_of(ids, per_page, page, descending=descending)
        base = self._home(request.scope)
        items = [
            self._shown(self.catalog.variation(product_id, vid, base_url=base)) for vid in window
        ]
        return self._collection(request, [i for i in items if i], len(ids), per_page, page)

    async def _get_variation(self, request: Request) -> Response:
        try:
            self._guard(request, "GET")
            self._require_user(
                request, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."
            )
            variation = self._shown(
                self.catalog.variation(
                    int(request.path_params["id"]),
                    int(request.path_params["variation_id"]),
                    base_url=self._home(request.scope),
                )
            )
            if variation is None:
                raise _WooError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        except _WooError as error:
            return error.response()
        return JSONResponse(self._rendered(request, [variation])[0])

    async def _batch(self, request: Request) -> Response:
        try:
            self._guard(request, "POST")
            self._require_user(
                request,
                "woocommerce_rest_cannot_batch",
                "Sorry, you are not allowed to batch manipulate this resource.",
            )
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise _WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
            if not isinstance(body, dict):
                raise _WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
            if any(body.get(op) for op in ("create", "update", "delete")):
                raise _WooError(
                    501, "sandbox_not_implemented", "The sandbox answers only an empty batch."
                )
        except _WooError as error:
            return error.response()
        return JSONResponse([])  # what WooCommerce answers to an empty batch

    async def _system_status(self, request: Request) -> Response:
        try:
            self._guard(request, "GET")
            self._require_user(
                request, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
            )
        except _WooError as error:
            return error.response()
        base = self._home(request.scope)
        return _json_fields(
            request,
            {
                "environment": {
                    "home_url": base,
                    "site_url": base,
                    "version": self.wc_version,
                    "wp_version": "6.6.2",
                    "language": self.language,
                    "server_info": "sandbox",
                    "php_version": "8.2.0",
                },
                "settings": {
                    "currency": self.currency,
                    "currency_symbol": "&euro;" if self.currency == "EUR" else self.currency,
                    "currency_position": "right_space",
                    "thousand_separator": ".",
                    "decimal_separator": ",",
                    "number_of_decimals": 2,
                },
                "active_plugins": [
                    {
                        "plugin": "woocommerce/woocommerce.php",
                        "name": "WooCommerce",
                        "version": self.wc_version,
                    }
                ],
            },
        )

    async def _no_route(self, request: Request) -> Response:
        if request.url.path.startswith("/wp-json"):
            return _WooError(
                404, "rest_no_route", "No route was found matching the URL and request method."
            ).response()
        return HTMLResponse(_NOT_FOUND_PAGE.format(name=self.store_name), status_code=404)

    # --- authentication -------------------------------------------------------------------

    def _guard(self, request: Request, method: str) -> None:
        """What runs before a wc/v3 route: WooCommerce present, credentials, key permission."""
        if not self.woocommerce_active:
            raise _WooError(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        permission = self._authenticate(request)
        request.state.permission = permission
        if permission is None:
            return
        if method == "GET" and permission not in ("read", "read_write"):
            raise _auth_error("The API key provided does not have read permissions.")
        if method != "GET" and permission not in ("write", "read_write"):
            raise _auth_error("The API key provided does not have write permissions.")

    @staticmethod
    def _require_user(request: Request, code: str, message: str) -> None:
        if getattr(request.state, "permission", None) is None:
            raise _WooError(401, code, message)

    def _authenticate(self, request: Request) -> str | None:
        """The key's permission, None when no credentials came, or a _WooError."""
        if request.url.scheme == "https":
            key, secret = self._basic_credentials(request)
            record = self.keys.get(key) if key else None
            # An unknown key is no user at all (WooCommerce's perform_basic_authentication
            # returns false without an error): the request goes on anonymous, and a wc/v3
            # route answers 401 woocommerce_rest_cannot_view, as without credentials.
            if record is not None:
                if not hmac.compare_digest(secret.encode(), record[0].encode()):
                    raise _auth_error("Consumer secret is invalid.")
                return record[1]
        return self._oauth(request)

    def _basic_credentials(self, request: Request) -> tuple[str, str]:
        header = "" if self.strip_authorization else request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            key, _, secret = decoded.partition(":")
            if key:
                return key, secret
        query = request.query_params
        key, secret = query.get("consumer_key", ""), query.get("consumer_secret", "")
        if key or secret:
            self.query_credentials.append((key, secret))
        return key, secret

    def _oauth(self, request: Request) -> str | None:
        query = request.query_params
        missing = [name for name in _OAUTH_PARAMS if not query.get(name)]
        if len(missing) == len(_OAUTH_PARAMS):
            return None  # not even trying OAuth
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise _WooError(
                401,
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {noun} {', '.join(missing)}",
            )
        key = query["oauth_consumer_key"]
        record = self.keys.get(key)
        if record is None:
            raise _auth_error("Consumer key is invalid.")
        method = query["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise _auth_error("Invalid signature - signature method is invalid.")
        if not self._signature_matches(request, record[0], method):
            raise _auth_error("Invalid signature - provided signature does not match.")
        try:
            timestamp = int(query["oauth_timestamp"])
        except ValueError:
            raise _auth_error("Invalid timestamp.") from None
        now = self._clock()
        if not now - OAUTH_WINDOW <= timestamp <= now + OAUTH_WINDOW:
            raise _auth_error("Invalid timestamp.")
        used = self._nonces.setdefault(key, {})
        for nonce, seen in list(used.items()):
            if seen < now - OAUTH_WINDOW:
                del used[nonce]
        nonce = query["oauth_nonce"]
        if nonce in used:
            raise _auth_error("Invalid nonce - nonce has already been used.")
        used[nonce] = float(timestamp)
        return record[1]

    def _signature_matches(self, request: Request, secret: str, method: str) -> bool:
        """WooCommerce's check: the base string's URL is the home URL on the request's scheme
        plus the request path past the home's own path (so `/` is `http://home`, no slash);
        the parameters are the query string's; the body is not signed."""
        raw_path = request.scope.get("woo.request_path") or request.scope.get("raw_path")
        path = (raw_path or request.url.path.encode()).decode("latin-1").split("?", 1)[0]
        home = httpx.URL(self._home(request.scope))
        site_path = home.path.rstrip("/")
        if path.startswith(site_path + "/"):
            path = path[len(site_path) + 1 :]
        base_uri = f"{request.url.scheme}://{home.netloc.decode('latin-1')}{site_path}"
        if path:
            base_uri += "/" + path.lstrip("/")
        query = request.scope.get("query_string", b"").decode("latin-1")
        # PHP's $_GET: one value per name, the last one.
        params = dict(parse_qsl(query, keep_blank_values=True))
        given = params.pop("oauth_signature", "")
        normalized = oauth_signature.normalize_parameters(list(params.items()))
        base_string = oauth_signature.signature_base_string(request.method, base_uri, normalized)
        digest = hashlib.sha256 if method == "HMAC-SHA256" else hashlib.sha1
        key = quote(secret, safe="~").encode() + b"&"
        expected = base64.b64encode(hmac.new(key, base_string.encode(), digest).digest())
        return hmac.compare_digest(expected.decode(), given)

    def _shown(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """An item as this WooCommerce version shows it: no GTIN field before 9.2."""
        if item is not None and _version(self.wc_version) < (9, 2):
            item.pop("global_unique_id", None)
        return item

    def _rendered(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Products or variations as `_fields` asks; the share of each one's fields computed
        is the rendering work the CPU model charges for."""
        tree = _fields_tree(request)
        work = _WORK.get(None)
        if tree is None:
            if work is not None:
                work[0] += len(items)
            return items
        shown = [_intersect(item, tree) for item in items]
        if work is not None:
            work[0] += sum(len(s) / len(i) for s, i in zip(shown, items, strict=True) if i)
        return shown

    def _collection(
        self, request: Request, items: list[dict[str, Any]], total: int, per_page: int, page: int
    ) -> JSONResponse:
        """A list with its totals and, as WordPress does, prev/next links that repeat the whole
        query string of the request: OAuth parameters and `consumer_secret` included."""
        total_pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(total_pages)}
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        path = (request.scope.get("woo.request_path") or b"").decode("latin-1")
        path = self._site_relative(path.split("?", 1)[0] or request.url.path)
        links = []
        last = max(total_pages, 1)
        for target, rel in ((page - 1, "prev"), (page + 1, "next")):
            if target >= 1 and (target <= total_pages or (rel == "prev" and page > last)):
                query = urlencode([*kept, ("page", str(target))])
                links.append(f'<{self._home(request.scope)}{path}?{query}>; rel="{rel}"')
        response = JSONResponse(self._rendered(request, items), headers=headers)
        if links:
            response.headers.append("Link", ", ".join(links))
        return response


class _LoggedApp:
    """The ASGI entry point (an object, so servers see an ASGI 3 callable)."""

    def __init__(self, sandbox: WooSandbox) -> None:
        self.sandbox = sandbox

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.sandbox._serve(scope, receive, send)


# --- helpers ------------------------------------------------------------------------------


def _rest_routed(scope: dict[str, Any]) -> dict[str, Any]:
    """`/?rest_route=/wc/v3/products&…` (or on /index.php) routed as `/wp-json/wc/v3/products`,
    as WordPress does with any permalinks; the path it came to is kept for the OAuth check."""
    if scope["type"] != "http" or scope["path"] not in ("/", "/index.php"):
        return scope
    query = scope.get("query_string", b"").decode("latin-1")
    routes = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "rest_route"]
    if not routes:
        return scope
    route = "/" + routes[-1].strip("/")
    path = "/wp-json/" if route == "/" else f"/wp-json{route}"
    return {
        **scope,
        "path": path,
        "raw_path": path.encode(),
        "woo.request_path": scope.get("raw_path") or scope["path"].encode(),
    }


def _query_value(scope: dict[str, Any], name: str) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == name]
    return values[-1] if values else None


def _fields_tree(request: Request) -> dict[str, Any] | None:
    """`_fields` (a comma list, or `_fields[]=` values) as WordPress nests it: `a.b` keeps key
    `b` of `a`; a name given whole wins over its sub-keys. None when not asked."""
    query = request.query_params
    values = query.getlist("_fields[]") or query.getlist("_fields")[-1:]
    if not values:
        return None
    tree: dict[str, Any] = {}
    for name in (n for value in values for n in re.split(r"[\s,]+", value) if n):
        *parents, last = name.split(".")
        node: Any = tree
        for part in parents:
            if node.get(part) is True:
                break
            node = node.setdefault(part, {})
        else:
            node[last] = True
    return tree


def _intersect(data: Any, tree: dict[str, Any]) -> Any:
    """WordPress's `_rest_array_intersect_key_recursive`: the keys of `data` named in `tree`,
    and within those named with sub-keys, only those. A list is a PHP array keyed 0, 1, …"""
    if isinstance(data, list):
        kept = {str(i): v for i, v in enumerate(data) if str(i) in tree}
        kept = {k: _intersect(v, tree[k]) if _nested(v, tree[k]) else v for k, v in kept.items()}
        return list(kept.values()) if list(kept) == [str(i) for i in range(len(kept))] else kept
    return {
        k: _intersect(v, tree[k]) if _nested(v, tree[k]) else v
        for k, v in data.items()
        if k in tree
    }


def _nested(value: Any, node: Any) -> bool:
    return isinstance(value, dict | list) and isinstance(node, dict)


def _json_fields(request: Request, data: dict[str, Any]) -> JSONResponse:
    tree = _fields_tree(request)
    return JSONResponse(data if tree is None else _intersect(data, tree))


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _invalid_param(name: str, message: str) -> _WooError:
    return _WooError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        params={name: message},
        details={name: {"code": "rest_out_of_bounds", "message": message, "data": None}},
    )


def _paging(request: Request) -> tuple[int, int]:
    query = request.query_params
    values: dict[str, int] = {}
    for name, default in (("per_page", 10), ("page", 1)):
        raw = query.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            raise _invalid_param(name, f"{name} is not of type integer.") from None
    if not 1 <= values["per_page"] <= 100:
        raise _invalid_param(
            "per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)"
        )
    if values["page"] < 1:
        raise _invalid_param("page", "page must be greater than or equal to 1")
    return values["per_page"], values["page"]


def _page_of(ids: Sequence[int], per_page: int, page: int, *, descending: bool) -> list[int]:
    total = len(ids)
    start = (page - 1) * per_page
    stop = min(start + per_page, total)
    if start >= total:
        return []
    if descending:
        return [ids[total - 1 - i] for i in range(start, stop)]
    return list(ids[start:stop])
