"""WooCommerce REST API v3 client: store check, credential check, product and variation pages.

Authentication as WooCommerce documents it: `https://` stores get HTTP Basic, falling back to
the query-string form (`consumer_key`, `consumer_secret`) when the host strips the
Authorization header; `http://` stores get OAuth 1.0a one-legged (HMAC-SHA256, signed by
oauthlib, parameters in the query string, body not signed).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import secrets
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import httpx
from oauthlib import oauth1
from oauthlib.common import generate_nonce, generate_timestamp
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
)

from connector import redact
from connector.clients.http import FROM_ENV, TIMEOUT, make_client, safe_url
from connector.errors import (
    ConnectorError,
    CredentialsRefused,
    RemoteRejected,
    RemoteUnavailable,
    UsageError,
)
from connector.secret import Secret
from connector.settings import DEFAULT_STORE_CONCURRENCY

log = logging.getLogger("connector.woocommerce")

API: Final = "/wc/v3"  # a REST route, under the store's API root
API_REL: Final = "https://api.w.org/"  # the Link relation naming the API root
AUTH_MODES: Final = ("basic", "query", "oauth1")
KEYS_PAGE: Final = "WordPress admin › WooCommerce › Settings › Advanced › REST API"
_URL_EXAMPLE: Final = "e.g. https://shop.example.com"
QUERY_NOTICE: Final = (
    "The store's host strips the Authorization header, so the consumer secret now travels in "
    "the URL (query string), where the web server's access log keeps it; ask the host to pass "
    "the Authorization header to PHP (Apache: CGIPassAuth On), then connect again."
)
_FIREWALL_STATUSES: Final = frozenset({403, 406, 409, 429, 503, *range(520, 531)})
_FIREWALL_MARKERS: Final = (
    "cloudflare",
    "cf-ray",
    "sucuri",
    "wordfence",
    "imunify",
    "captcha",
    "attention required",
    "access denied",
    "request blocked",
    "mod_security",
    "incapsula",
    "akamai",
)

# WooCommerce answers every credential problem with the same code
# (woocommerce_rest_authentication_error); only its English message tells them apart.
# Fragment of the message (lower case) -> (message, hint). Anything else: the generic refusal.
_AUTH_REFUSALS: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "consumer key is invalid",
        "WooCommerce does not know this consumer key.",
        f"Check the key (it starts with ck_) in {KEYS_PAGE}.",
    ),
    (
        "consumer secret is invalid",
        "The consumer secret does not match this key.",
        f"WooCommerce shows the secret only once, when the key is created; if it is lost, "
        f"create a new key in {KEYS_PAGE}.",
    ),
    (
        "provided signature does not match",
        "The consumer secret does not match this key (the OAuth signature was refused).",
        f"Check the secret (it starts with cs_); if it is right, the store may see another "
        f"address than the one given (a proxy): try its https:// URL. Keys: {KEYS_PAGE}.",
    ),
    (
        "does not have write permissions",
        "This key is read-only; create a Read/Write key.",
        f"{KEYS_PAGE} › Add key, Permissions: Read/Write.",
    ),
    (
        "does not have read permissions",
        "This key is write-only; create a Read/Write key.",
        f"{KEYS_PAGE} › Add key, Permissions: Read/Write.",
    ),
    (
        "invalid timestamp",
        "The store refused the request's time: this computer's clock and the server's differ "
        "by more than 15 minutes.",
        "Set the clock of this computer (or ask the host to fix the server's), then try again.",
    ),
    (
        "nonce has already been used",
        "The store refused a repeated request signature (OAuth nonce).",
        "Try again; if it keeps happening, use the store's https:// address.",
    ),
)


# --- the store URL ------------------------------------------------------------------------


def normalize_store_url(text: str) -> str:
    """The store's base URL: `https://` added when no scheme, no trailing slash, and a pasted
    `/wp-json…` or `/wp-admin…` tail cut off. Anything unusable is a UsageError."""
    raw = (text or "").strip()
    if not raw:
        raise UsageError("The store URL is empty.", f"Give the shop's address, {_URL_EXAMPLE}.")
    if any(ch.isspace() for ch in raw):
        raise UsageError("The store URL contains spaces.", f"Use {_URL_EXAMPLE}.")
    if raw.startswith("//"):
        raw = "https:" + raw
    elif "://" not in raw:
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)", raw)
        if scheme:
            raise UsageError(
                f"The store URL must start with https:// or http://, not {scheme.group(1)}:.",
                f"Use {_URL_EXAMPLE}.",
            )
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise UsageError("The store URL is malformed.", f"Use {_URL_EXAMPLE}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(
            f"The store URL must start with https:// or http://, not {scheme}://.",
            f"Use {_URL_EXAMPLE}.",
        )
    if "@" in parts.netloc:
        raise UsageError(
            "The store URL must not contain a user name or password.",
            "Give only the shop's address; the key and secret are asked for separately.",
        )
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise UsageError("The store URL has no valid host name.", f"Use {_URL_EXAMPLE}.")
    path = parts.path
    # A pasted API or admin address, or the plain-permalinks form of the API
    # (`/index.php?rest_route=/…`, `/?rest_route=/…`), names the site before it.
    tail = re.search(r"/(wp-json|wp-admin|index\.php)(/|$)", path)
    if tail:
        path = path[: tail.start()]
    elif _names_rest_route(parts.query) and not parts.fragment:
        pass
    elif parts.query or parts.fragment:
        raise UsageError(
            "The store URL must not contain '?' or '#'.",
            f"Give only the shop's address, {_URL_EXAMPLE}.",
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        netloc += f":{port}"
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def _names_rest_route(query: str) -> bool:
    return any(name == "rest_route" for name, _ in parse_qsl(query, keep_blank_values=True))


def _valid_host(host: str) -> bool:
    if not host:
        return False
    if ":" in host:  # IPv6, already stripped of its brackets by urlsplit
        return bool(re.fullmatch(r"[0-9a-f:.]+", host))
    labels = host.rstrip(".").split(".")
    return all(re.fullmatch(r"[^\W_]([\w-]{0,61}[^\W_])?", label) for label in labels)


# --- authentication -----------------------------------------------------------------------


class QueryAuth(httpx.Auth):
    """Key and secret in the query string, for https hosts that strip the Authorization header.
    The secret is then in the URL: the http log hook blanks it (connector.clients.http)."""

    def __init__(self, key: Secret, secret: Secret) -> None:
        self._key = key
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(
            {"consumer_key": self._key.reveal(), "consumer_secret": self._secret.reveal()}
        )
        yield request


class BasicAuth(httpx.Auth):
    """HTTP Basic from two Secrets (revealed only into the header)."""

    def __init__(self, key: Secret, secret: Secret) -> None:
        self._key = key
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        basic = httpx.BasicAuth(self._key.reveal(), self._secret.reveal())
        yield from basic.auth_flow(request)


class OAuth1Auth(httpx.Auth):
    """OAuth 1.0a one-legged, HMAC-SHA256, parameters in the query string, body not signed.
    Every send (each retry too) gets a fresh nonce and timestamp.

    WooCommerce rebuilds the signed URL from WordPress's home URL, not from the address the
    request came to (see `oauth_base_uri`), so the signature is made for `home_url` while
    the request goes to the address given."""

    def __init__(self, key: Secret, secret: Secret, home_url: str) -> None:
        self._key = key
        self._secret = secret
        self._home_url = home_url

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = [
            ("oauth_consumer_key", self._key.reveal()),
            ("oauth_nonce", generate_nonce()),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", generate_timestamp()),
            ("oauth_version", "1.0"),
        ]
        params = oauth_signature.normalize_parameters([*request.url.params.multi_items(), *oauth])
        base_uri = oauth_base_uri(request.url, self._home_url)
        base_string = oauth_signature.signature_base_string(request.method, base_uri, params)
        client = oauth1.Client(self._key.reveal(), client_secret=self._secret.reveal())
        signed = oauth_signature.sign_hmac_sha256_with_client(base_string, client)
        request.url = request.url.copy_merge_params([*oauth, ("oauth_signature", signed)])
        yield request


def oauth_base_uri(url: httpx.URL, home_url: str) -> str:
    """The URL WooCommerce signs (WC_REST_Authentication::check_oauth_signature): the home
    URL on the request's scheme, plus the request path past the home's own path. So `/` is
    signed as `http://home` with no slash (oauthlib would add one), and a request sent to
    localhost for a site whose home is 127.0.0.1 is signed for 127.0.0.1."""
    home = httpx.URL(home_url)
    site_path = home.path.rstrip("/")
    path = url.raw_path.split(b"?", 1)[0].decode("ascii")
    if path.startswith(site_path + "/"):
        path = path[len(site_path) + 1 :]
    base = f"{url.scheme}://{home.netloc.decode('ascii')}{site_path}"
    return f"{base}/{path.lstrip('/')}" if path else base


# --- the client ---------------------------------------------------------------------------


class WooClient:
    """One WooCommerce store: one keep-alive httpx client, at most `concurrency` requests in
    flight, transient failures (5xx, 429, timeouts, dropped connections) retried.

    Each request costs the store a PHP worker for 0.1-0.3 s of CPU, and the shop's visitors
    need those workers too: `concurrency` stays small (MIRAKL_WOO_STORE_CONCURRENCY)."""

    def __init__(
        self,
        *,
        url: str,
        consumer_key: Secret,
        consumer_secret: Secret,
        auth_mode: str | None = None,
        concurrency: int = DEFAULT_STORE_CONCURRENCY,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | None = None,
        attempts: int = 4,
        retry_wait: float = 0.5,
        max_retry_wait: float = 10.0,
        api_root: str | None = None,
        home_url: str | None = None,
        ca_file: str | Path | None = FROM_ENV,
    ) -> None:
        self.url = normalize_store_url(url)
        #: The REST index, where every route hangs: `{url}/wp-json/`, or with plain
        #: permalinks `{url}/?rest_route=/`. `check_store` finds it; an account saved
        #: before passes it back (`api_root` in its details).
        self.api_root = api_root or f"{self.url}/wp-json/"
        #: WordPress's home URL, which WooCommerce checks OAuth signatures against.
        self.home_url = (home_url or self.url).rstrip("/")
        self._discovered = False
        self._discovery = asyncio.Lock()
        self.consumer_key = Secret(consumer_key)
        self.consumer_secret = Secret(consumer_secret)
        redact.register(self.consumer_key)
        redact.register(self.consumer_secret)
        if auth_mode is None:
            auth_mode = "basic" if self.url.startswith("https://") else "oauth1"
        if auth_mode not in AUTH_MODES:
            raise UsageError(
                f"Unknown WooCommerce auth mode {auth_mode!r}.",
                f"Use one of {', '.join(AUTH_MODES)}.",
            )
        self.auth_mode = auth_mode
        #: One line for the merchant when the connection works in a weaker way than asked
        #: (the secret in the query string because the host strips the Authorization header).
        self.auth_notice: str | None = QUERY_NOTICE if auth_mode == "query" else None
        self._probed: bool | None = None  # _header_stripped's answer, once found
        #: Called with the new mode when the client switches to the query-string form, so
        #: the saved account (and `status`) say how the secret travels from then on.
        self.on_auth_mode: Callable[[str], None] | None = None
        self.concurrency = max(1, concurrency)
        self.total_products: int | None = None  # X-WP-Total of the last product listing
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0)) if timeout else TIMEOUT
        self._attempts = max(1, attempts)
        self._retry_wait = retry_wait
        self._max_retry_wait = max_retry_wait
        self._slots = asyncio.Semaphore(self.concurrency)
        self._transport = transport
        self._http = make_client(
            base_url=self.url,
            transport=transport,
            ca_file=ca_file,
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
        )

    async def __aenter__(self) -> WooClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- checks ---------------------------------------------------------------------------

    @property
    def permalinks(self) -> str:
        """ "plain" when the API answers at `?rest_route=` (WordPress's default where URL
        rewriting is not detected), "pretty" at `/wp-json/`."""
        return "plain" if "rest_route=" in self.api_root else "pretty"

    async def check_store(self) -> dict[str, Any]:
        """The WordPress REST index, whose namespaces must include wc/v3: at `/wp-json/`, or
        where the `Link: <…>; rel="https://api.w.org/"` header of the answer says (plain
        permalinks answer `/wp-json/` with the HTML home page), or at `/?rest_route=/`.
        Remembers the API root and the home URL it names."""
        response = await self._index_answer(f"{self.url}/wp-json/")
        root = f"{self.url}/wp-json/"
        if _speaks_https(response):
            raise self._speaks_https_error()
        if _is_html(response) and not _looks_like_firewall(response):
            for candidate in self._plain_roots(response):
                answer = await self._index_answer(candidate)
                if answer.is_success and not _is_html(answer):
                    response, root = answer, candidate
                    break
        if response.is_redirect:
            target = response.headers.get("location", "")
            try:
                moved = normalize_store_url(str(response.url.join(target))) if target else ""
            except UsageError:
                moved = ""
            moved = moved or "another address"
            raise RemoteUnavailable(
                f"{self.url} redirects to {moved}.", f"Connect with the URL {moved} instead."
            )
        data = self._json(response, stage="index")
        if response.status_code >= 500:
            raise self._api_error(response, data if isinstance(data, dict) else {})
        if not response.is_success:
            if isinstance(data, dict) and data.get("code"):
                raise RemoteUnavailable(
                    f"{self.url} refuses its REST API to visitors ({data.get('code')}: "
                    f"{self._server_text(data.get('message'))}).",
                    "A security plugin is probably blocking /wp-json/; allow the WooCommerce "
                    "REST API in its settings.",
                )
            raise self._not_wordpress()
        if not isinstance(data, dict) or not isinstance(data.get("namespaces"), list):
            raise self._not_wordpress()
        if "wc/v3" not in data["namespaces"]:
            raise self._woocommerce_inactive()
        self.api_root = root
        self.home_url = _home_of(data) or self.home_url
        self._discovered = True
        return data

    async def _index_answer(self, url: str) -> httpx.Response:
        try:
            return await self._call("GET", url, signed=False)
        except RemoteUnavailable:
            if await self._port_speaks_tls():
                raise self._speaks_https_error() from None
            raise

    def _plain_roots(self, response: httpx.Response) -> list[str]:
        """Where a plain-permalinks API may be: the Link header's root (its path and query,
        on the address given: the header names the home URL's host), then `/?rest_route=/`."""
        roots: list[str] = []
        for link in response.headers.get_list("link", split_commas=True):
            match = re.match(r'\s*<([^>]*)>\s*;\s*rel="?([^";]*)"?', link)
            if match and match.group(2) == API_REL:
                target = httpx.URL(match.group(1))
                query = f"?{target.query.decode('ascii')}" if target.query else ""
                roots.append(f"{_origin(self.url)}{target.path}{query}")
        fallback = f"{self.url}/?rest_route=/"
        if fallback not in roots:
            roots.append(fallback)
        return [root for root in roots if "rest_route=" in root]

    async def _port_speaks_tls(self) -> bool:
        """For an http:// store that dropped the connection: does its port complete a TLS
        handshake? Then the merchant typed http:// for an https:// site."""
        if self._transport is not None or not self.url.startswith("http://"):
            return False
        target = httpx.URL(self.url)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # only asking whether the port speaks TLS
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port or 80, ssl=context), 5
            )
        except (OSError, TimeoutError, ssl.SSLError):
            return False
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
        return True

    def _speaks_https_error(self) -> RemoteUnavailable:
        secure = "https://" + self.url.removeprefix("http://")
        return RemoteUnavailable(
            f"{self.url} is an https port: the server there speaks HTTPS, not plain http.",
            f"Connect with the URL {secure} instead.",
        )

    async def check_credentials(self) -> dict[str, Any]:
        """Read products with the key, prove write permission with an empty batch, then read
        the store's version, currency and language (optional: some hosts refuse that call)."""
        await self._json_call("GET", f"{API}/products", params={"per_page": 1})
        await self._json_call("POST", f"{API}/products/batch", json={})
        details: dict[str, Any] = {"wc_version": None, "currency": None, "language": None}
        try:
            status = await self._json_call(
                "GET",
                f"{API}/system_status",
                params={"_fields": "environment.version,environment.language,settings.currency"},
            )
        except ConnectorError as error:
            log.warning("system_status unavailable, connecting without it: %s", error)
            status = {}
        if isinstance(status, dict):
            environment = _dict(status.get("environment"))
            settings = _dict(status.get("settings"))
            details.update(
                wc_version=environment.get("version"),
                language=environment.get("language"),
                currency=settings.get("currency"),
            )
        details.update(permission="read_write", auth_mode=self.auth_mode)
        return details

    async def connect(self) -> dict[str, Any]:
        """Both checks; the account's display details (no secret among them)."""
        index = await self.check_store()
        details = await self.check_credentials()
        return {
            "url": self.url,
            "store_name": html.unescape(str(index.get("name") or "")).strip(),
            "wc_version": details["wc_version"],
            "currency": details["currency"],
            "language": details["language"],
            "key_last7": self.consumer_key.last(7),
            "permission": details["permission"],
            "auth_mode": self.auth_mode,
            "api_root": self.api_root,
            "permalinks": self.permalinks,
            **({"home_url": self.home_url} if self.home_url != self.url else {}),
            **({"auth_notice": self.auth_notice} if self.auth_notice else {}),
        }

    # --- catalog --------------------------------------------------------------------------

    async def iter_product_pages(
        self, *, status: str = "any", per_page: int = 100, fields: Sequence[str] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Product pages in id order. Page 1 tells how many pages there are; the rest are
        fetched with at most `concurrency` in flight and yielded in order, so memory holds
        only about `concurrency` pages at a time. `fields`: only those top-level keys
        (`_fields`, which WooCommerce honours by computing nothing else)."""
        path = f"{API}/products"

        def params(page: int) -> dict[str, Any]:
            return {
                "per_page": per_page,
                "page": page,
                "status": status,
                "orderby": "id",
                "order": "asc",
                **_fields_param(fields),
            }

        first, total_pages, total = await self._page(path, params(1))
        self.total_products = total
        if first:
            yield first
        if total_pages is None:  # no X-WP-TotalPages (a proxy dropped it): one page at a time
            page, items = 1, first
            while len(items) >= per_page:
                page += 1
                items, _, _ = await self._page(path, params(page))
                if items:
                    yield items
            return
        window: deque[asyncio.Task[tuple[list[dict[str, Any]], int | None, int | None]]] = deque()
        next_page = 2
        try:
            while True:
                while len(window) < self.concurrency and next_page <= total_pages:
                    window.append(asyncio.create_task(self._page(path, params(next_page))))
                    next_page += 1
                if not window:
                    return
                items, pages, total = await window.popleft()
                if pages is not None and pages > total_pages:  # products added meanwhile
                    total_pages = pages
                if total is not None:
                    self.total_products = total
                if items:
                    yield items
        finally:
            for task in window:
                task.cancel()
            await asyncio.gather(*window, return_exceptions=True)

    async def list_variations(
        self, product_id: int, *, fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every variation of a variable product (all pages), in id order; `fields` as for
        `iter_product_pages`."""
        path = f"{API}/products/{int(product_id)}/variations"
        variations: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"per_page": 100, "page": page, "orderby": "id", "order": "asc"}
            items, total_pages, _ = await self._page(path, {**params, **_fields_param(fields)})
            variations.extend(items)
            if total_pages is None and len(items) < 100:
                break
            if total_pages is not None and page >= total_pages:
                break
            page += 1
        return variations

    async def get_product(self, product_id: int) -> dict[str, Any]:
        data = await self._json_call("GET", f"{API}/products/{int(product_id)}")
        if not isinstance(data, dict):
            raise self._unexpected("a product")
        return data

    # --- requests -------------------------------------------------------------------------

    async def _page(
        self, path: str, params: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], int | None, int | None]:
        response = await self._call("GET", path, params=params)
        data = self._checked_json(response)
        if not isinstance(data, list):
            raise self._unexpected("a list")
        return data, _int_header(response, "X-WP-TotalPages"), _int_header(response, "X-WP-Total")

    async def _json_call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        response = await self._call(method, path, params=params, json=json)
        return self._checked_json(response)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        signed: bool = True,
    ) -> httpx.Response:
        """Sends with retries. With Basic, a `*_cannot_*` answer is what WooCommerce says to no
        credentials at all: a host that strips the Authorization header, or a key it does not
        know (it treats both as anonymous). Only a proven stripped header switches to the
        query-string form (see `_header_stripped`)."""
        sent_with = (self.api_root, self.home_url)
        response = await self._send(method, path, params, json, signed)
        # A client made from saved details (or none): the store may have switched its
        # permalinks, or its home URL may differ. Look once; send again if it moved.
        if (
            signed
            and not self._discovered
            and self._lost(response)
            and await self._rediscover() != sent_with
        ):
            response = await self._send(method, path, params, json, signed)
        if signed and self.auth_mode == "basic" and _credentials_missing(response):
            if not await self._header_stripped():
                return response  # the header arrives: the key's user may not do this
            log.warning("The host strips the Authorization header; using the query-string form")
            self.auth_mode = "query"
            self.auth_notice = QUERY_NOTICE
            if self.on_auth_mode is not None:
                self.on_auth_mode(self.auth_mode)
            return await self._send(method, path, params, json, signed)
        return response

    def _lost(self, response: httpx.Response) -> bool:
        """An answer meaning the API root or the home URL the client uses may be wrong."""
        if response.is_redirect or _is_html(response):
            return True
        return (
            self.auth_mode == "oauth1"
            and response.status_code == 401
            and "provided signature does not match" in response.text.lower()
        )

    async def _rediscover(self) -> tuple[str, str]:
        async with self._discovery:
            if not self._discovered:
                try:
                    await self.check_store()
                except ConnectorError as error:
                    log.info("Looking for the store's REST API again failed: %s", error)
                self._discovered = True
        return self.api_root, self.home_url

    def _endpoint(self, path: str, params: dict[str, Any] | None) -> httpx.URL:
        """An absolute URL as it is; a REST route (`/wc/v3/…`) under the API root. The query
        parameters follow `rest_route` (httpx's `params=` would replace it)."""
        if "://" in path:
            url = httpx.URL(path)
        else:
            root = httpx.URL(self.api_root)
            if "rest_route" in root.params:
                url = root.copy_set_param("rest_route", path)
            else:
                url = root.join(path.lstrip("/"))
        return url.copy_merge_params(params) if params else url

    async def _header_stripped(self) -> bool:
        """After Basic answered `*_cannot_*`: is the header stripped, or the key unknown?

        Two probes with the real key and a random wrong secret, so the real secret is never
        in a query string unless it has to be. Basic first: "Consumer secret is invalid" means
        the header arrives (the refusal was about the user's role) -> False. Otherwise the
        query-string form: "Consumer secret is invalid" means WooCommerce knows the key, so
        the header was stripped -> True; `*_cannot_*` again means it does not know the key
        -> CredentialsRefused. Anything else: not proven -> False."""
        if self._probed is not None:
            return self._probed
        wrong = Secret("cs_" + secrets.token_hex(20))
        probe_params = {"per_page": 1, "_fields": "id"}
        path = f"{API}/products"
        basic = await self._send_probe(path, probe_params, BasicAuth(self.consumer_key, wrong))
        if _secret_refused(basic) or not _credentials_missing(basic):
            self._probed = False
            return False
        query = await self._send_probe(path, probe_params, QueryAuth(self.consumer_key, wrong))
        if _secret_refused(query):
            self._probed = True
            return True
        if _credentials_missing(query):
            raise CredentialsRefused(
                "WooCommerce does not know this consumer key.",
                f"Check the key (it starts with ck_) in {KEYS_PAGE}; it may have been revoked.",
                code=_error_code(query) or None,
            )
        self._probed = False
        return False

    async def _send_probe(
        self, path: str, params: dict[str, Any], auth: httpx.Auth
    ) -> httpx.Response:
        async with self._slots:
            try:
                return await self._http.request("GET", self._endpoint(path, params), auth=auth)
            except httpx.TransportError as error:
                raise self._transport_error(error) from error

    async def _send(
        self, method: str, path: str, params: dict[str, Any] | None, json: Any, signed: bool
    ) -> httpx.Response:
        """One attempt; only when it failed in a way worth retrying does tenacity take over
        (back-off, further attempts), its first attempt being the answer already had. Each
        tenacity run leaves a reference cycle behind, and a sync sends hundreds of requests
        a second: the cyclic garbage collector's pauses would stall the screen."""
        try:
            first: httpx.Response | BaseException = await self._send_once(
                method, path, params, json, signed
            )
        except httpx.TransportError as error:
            first = error
        if isinstance(first, httpx.Response) and not _transient_response(first):
            return first
        if isinstance(first, BaseException) and not _transient_error(first):
            raise self._transport_error(first) from first
        attempts = iter([first])

        async def attempt() -> httpx.Response:
            outcome = next(attempts, None)
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome is not None:
                return outcome
            return await self._send_once(method, path, params, json, signed)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient_error) | retry_if_result(_transient_response),
            retry_error_callback=_last_outcome,
            before_sleep=_log_retry,
        )
        try:
            return await retrying(attempt)
        except httpx.TransportError as error:
            raise self._transport_error(error) from error

    async def _send_once(
        self, method: str, path: str, params: dict[str, Any] | None, json: Any, signed: bool
    ) -> httpx.Response:
        async with self._slots:
            return await self._http.request(
                method,
                self._endpoint(path, params),
                json=json,
                auth=self._auth() if signed else None,
            )

    def _auth(self) -> httpx.Auth:
        if self.auth_mode == "oauth1":
            return OAuth1Auth(self.consumer_key, self.consumer_secret, self.home_url)
        if self.auth_mode == "query":
            return QueryAuth(self.consumer_key, self.consumer_secret)
        return BasicAuth(self.consumer_key, self.consumer_secret)

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = _retry_after(outcome.result())
            if retry_after is not None:
                return min(retry_after, self._max_retry_wait)
        return min(self._retry_wait * 2 ** (state.attempt_number - 1), self._max_retry_wait)

    # --- answers --------------------------------------------------------------------------

    def _json(self, response: httpx.Response, *, stage: str) -> Any:
        """The body as JSON, or the error an HTML/other answer means at this stage."""
        content_type = response.headers.get("content-type", "").lower()
        if "html" in content_type or _starts_like_html(response.content):
            if stage == "index" and not _looks_like_firewall(response):
                raise self._not_wordpress()
            raise self._firewall(response)
        try:
            return response.json()
        except ValueError:
            # PHP notices printed before the JSON are common on shared hosts.
            text = response.text
            start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
            if start > 0:
                try:
                    return httpx.Response(200, content=text[start:].encode()).json()
                except ValueError:
                    pass
        if stage == "index":
            raise self._not_wordpress()
        raise RemoteUnavailable(
            f"{self.url} answered HTTP {response.status_code} with something that is not JSON.",
            "Try again later; if it keeps happening, ask the host whether a proxy rewrites "
            "/wp-json/ answers.",
        )

    def _checked_json(self, response: httpx.Response) -> Any:
        if response.is_redirect:
            raise self._moved(response)
        data = self._json(response, stage="api")
        if response.is_success:
            return data
        raise self._api_error(response, data if isinstance(data, dict) else {})

    def _api_error(self, response: httpx.Response, body: dict[str, Any]) -> ConnectorError:
        status = response.status_code
        code = str(body.get("code") or "")
        message = self._server_text(body.get("message"))
        if code in (
            "woocommerce_rest_authentication_error",
            "woocommerce_rest_authentication_missing_parameter",
        ):
            lowered = message.lower()
            for fragment, text, hint in _AUTH_REFUSALS:
                if fragment in lowered:
                    return CredentialsRefused(text, hint, code=code)
            return CredentialsRefused(
                f"WooCommerce refused the API key: {message or code}.",
                f"Check the key and secret in {KEYS_PAGE}.",
                code=code,
            )
        if code.startswith("woocommerce_rest_cannot_") or status in (401, 403):
            return CredentialsRefused(
                f"The store did not accept the key for this request ({code or f'HTTP {status}'}).",
                "The key must belong to a user with the Administrator or Shop manager role; "
                f"create one in {KEYS_PAGE}.",
                code=code or None,
            )
        if code == "rest_no_route":
            return self._woocommerce_inactive()
        if status >= 500 or status == 429:
            return RemoteUnavailable(
                f"{self.url} answered HTTP {status}{f' ({message})' if message else ''}.",
                "The store is overloaded or failing; try again later.",
                code=code or None,
            )
        return RemoteRejected(
            f"WooCommerce refused the request: {message or f'HTTP {status}'}",
            code=code or None,
            status=status,
        )

    # --- errors ---------------------------------------------------------------------------

    def _server_text(self, value: Any) -> str:
        """A server-provided message, made one short line (and scrubbed, to be safe)."""
        text = " ".join(html.unescape(str(value or "")).split())
        text = re.sub(r"<[^>]+>", "", text)
        return redact.scrub(text[:200])

    def _not_wordpress(self) -> RemoteUnavailable:
        return RemoteUnavailable(
            f"{self.url} is not a WordPress site (no REST API at /wp-json/).",
            f"Check the URL: it is the address of the shop's home page, {_URL_EXAMPLE}.",
        )

    def _moved(self, response: httpx.Response) -> RemoteUnavailable:
        """The API answered a redirect: WordPress does so when its permalinks were switched
        (to plain ones, /wp-json/... then redirects) or the site moved."""
        target = response.headers.get("location", "")
        where = safe_url(response.url.join(target)).split("?")[0] if target else "elsewhere"
        return RemoteUnavailable(
            f"The store's REST API moved: {response.url.path} now redirects to {where} "
            "(WordPress permalinks changed, or the site moved).",
            "Connect the store again (mirakl-woo connect woocommerce, or Account in the app) "
            "so the connector finds its API at the new address.",
            code="moved",
        )

    def _woocommerce_inactive(self) -> RemoteUnavailable:
        return RemoteUnavailable(
            f"WordPress answers at {self.url}, but WooCommerce is not active there "
            "(no wc/v3 REST API).",
            "Install and activate WooCommerce in WordPress admin › Plugins, then try again.",
        )

    def _firewall(self, response: httpx.Response) -> RemoteUnavailable:
        return RemoteUnavailable(
            f"{self.url} answered an HTML page (HTTP {response.status_code}) instead of the "
            "REST API's JSON: a firewall or CDN is blocking the connector.",
            "Allow requests to /wp-json/ from this server in the firewall, CDN (e.g. "
            "Cloudflare WAF) or security plugin, then try again.",
        )

    def _unexpected(self, expected: str) -> RemoteUnavailable:
        return RemoteUnavailable(
            f"{self.url} answered something else than {expected} where WooCommerce sends one.",
            "Check that the URL is the shop's address and that no plugin rewrites the REST API.",
        )

    def _transport_error(self, error: httpx.TransportError) -> RemoteUnavailable:
        reason = redact.scrub(str(error) or type(error).__name__)
        reason = re.sub(r"\s*\(_ssl\.c:\d+\)", "", reason).rstrip(".")
        if isinstance(error, httpx.TimeoutException):
            seconds = self._timeout.read or self._timeout.connect
            return RemoteUnavailable(
                f"{self.url} did not answer in time ({seconds:g} s).",
                "The store may be overloaded; try again later.",
            )
        if _is_tls_error(error):
            return self._tls_error(error, reason)
        if isinstance(error, httpx.ConnectError):
            return RemoteUnavailable(
                f"Cannot reach {self.url}: {reason}.",
                "Check the URL and this computer's network connection.",
            )
        return RemoteUnavailable(
            f"The connection to {self.url} failed: {reason}.",
            "Try again; if it keeps happening, check the network or ask the host.",
        )

    def _tls_error(self, error: BaseException, reason: str) -> RemoteUnavailable:
        """Which TLS failure, from OpenSSL's verify code or reason: an untrusted certificate
        (self-signed, a private CA), one for another name, an expired one, or a port that
        does not speak TLS at all."""
        failure = _ssl_failure(error)
        code = getattr(failure, "verify_code", None)
        plain = "http://" + self.url.removeprefix("https://")
        if code in _UNTRUSTED_CODES:
            return RemoteUnavailable(
                f"No secure connection to {self.url}: its HTTPS certificate is not trusted by "
                "this computer (self-signed, or from a private certificate authority).",
                "If it is the store's own certificate, set MIRAKL_WOO_CA_FILE to that "
                "certificate (or its authority's), in PEM format, and try again.",
            )
        if code in _NAME_MISMATCH:
            return RemoteUnavailable(
                f"No secure connection to {self.url}: its HTTPS certificate is not valid for "
                "this address (it names another host).",
                "Use the address the certificate was made for (often with or without www.), "
                "or ask the host to fix the certificate.",
            )
        if code == _EXPIRED:
            return RemoteUnavailable(
                f"No secure connection to {self.url}: its HTTPS certificate has expired.",
                "Ask the host to renew the certificate (or check this computer's clock).",
            )
        if _not_tls(failure or error):
            return RemoteUnavailable(
                f"No secure connection to {self.url}: that port does not speak HTTPS.",
                f"Check the URL: the store may be at {plain} or on another port.",
            )
        return RemoteUnavailable(
            f"No secure connection to {self.url}: {reason}.",
            "Check the URL, or ask the host to fix the store's HTTPS certificate.",
        )


# --- helpers ------------------------------------------------------------------------------

# OpenSSL's X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code).
_UNTRUSTED_CODES: Final = frozenset({2, 18, 19, 20, 21, 27})
_EXPIRED: Final = 10
_NAME_MISMATCH: Final = frozenset({62, 63, 64})  # host name, e-mail, IP address


def _ssl_failure(error: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _not_tls(error: BaseException) -> bool:
    text = f"{getattr(error, 'reason', '') or ''} {error}".upper()
    return any(
        sign in text
        for sign in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET")
    )


def _fields_param(fields: Sequence[str] | None) -> dict[str, str]:
    return {"_fields": ",".join(fields)} if fields else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code") or "") if isinstance(body, dict) else ""


def _secret_refused(response: httpx.Response) -> bool:
    """WooCommerce's answer to a known key with a wrong secret."""
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and "consumer secret is invalid" in str(body.get("message") or "").lower()
    )


def _credentials_missing(response: httpx.Response) -> bool:
    return response.status_code == 401 and _error_code(response).startswith(
        "woocommerce_rest_cannot_"
    )


def _transient_response(response: httpx.Response) -> bool:
    return response.status_code >= 500 or response.status_code == 429


def _transient_error(error: BaseException) -> bool:
    if not isinstance(error, httpx.TransportError):
        return False
    # A refused certificate does not get better by asking again.
    return not _is_tls_error(error) and not isinstance(error, httpx.UnsupportedProtocol)


def _is_tls_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        text = str(seen)
        if "SSL" in text or "CERTIFICATE" in text.upper() or "TLS" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """After the last attempt: the last answer (a 5xx becomes its own error) or its exception."""
    assert state.outcome is not None
    return state.outcome.result()


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    if outcome is None:
        return
    what = (
        type(outcome.exception()).__name__
        if outcome.failed
        else f"HTTP {outcome.result().status_code}"
    )
    log.info("WooCommerce request failed (%s), attempt %d; retrying", what, state.attempt_number)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    return "html" in content_type or _starts_like_html(response.content)


def _speaks_https(response: httpx.Response) -> bool:
    """nginx's answer to plain http on its https port (400, "The plain HTTP request was sent
    to HTTPS port"); Apache's is "speaking plain HTTP to an SSL-enabled server port"."""
    text = response.text[:2000].lower()
    return response.status_code == 400 and (
        "sent to https port" in text or "plain http to an ssl-enabled" in text
    )


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"


def _home_of(index: dict[str, Any]) -> str | None:
    """The index's `home` (WordPress's home URL), when it is a usable address."""
    raw = str(index.get("home") or "").strip()
    if not raw.startswith(("http://", "https://")):
        return None
    try:
        return normalize_store_url(raw)
    except UsageError:
        return None


def _starts_like_html(content: bytes) -> bool:
    head = content[:200].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _looks_like_firewall(response: httpx.Response) -> bool:
    if response.status_code in _FIREWALL_STATUSES:
        return True
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
    body = response.text[:4000].lower()
    return any(marker in headers or marker in body for marker in _FIREWALL_MARKERS)
