"""Mirakl Connect seller API client: an OAuth client-credentials token, the three paced
`/products` operations, and every failure turned into a `ConnectorError` by status and `code`.

The token is handled here rather than by Authlib's httpx client on purpose: Authlib is moving
that integration to httpx2 (its httpx flavour is deprecated), and its automatic refresh of a
client-credentials token calls `fetch_token(grant_type=...)` without the parameters of the first
fetch, so an account's `audience` (company id) is silently dropped on refresh.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from connector import redact
from connector.clients.http import FROM_ENV, make_client
from connector.errors import (
    ConnectorError,
    CredentialsRefused,
    RemoteRejected,
    RemoteUnavailable,
    UsageError,
)
from connector.pacing import Pacer
from connector.secret import Secret

log = logging.getLogger("connector.mirakl")

MAX_ITEMS = 1000
TOKEN_LEEWAY = 60.0
MAX_RATE_LIMITED = 10

_AUTH_HINT = (
    "Check MIRAKL_WOO_AUTH_URL: it must be the token URL, e.g. https://auth.mirakl.net/oauth/token."
)
_API_HINT = "Check MIRAKL_WOO_API_URL: it must be the API base, e.g. https://miraklconnect.com/api."
_CREDENTIALS_HINT = (
    "Copy the client ID and client secret again from the API client in your Mirakl Connect "
    "account settings; a secret is shown only once, so create a new one if it is lost."
)
_REFUSED_TOKEN_CODES = ("invalid_client", "unauthorized_client", "invalid_grant")
_DENIED_TOKEN_CODES = ("access_denied", "invalid_target", "invalid_scope")
_LABELS = {"list": "product list", "upsert": "product upsert", "delete": "product delete"}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about the current access token; never the token itself.

    Company id and name come from the token's JWT payload when it carries them (read without
    verification, for display only: the API is what checks the token).
    """

    expires_at: float
    company_id: str | None = None
    company_name: str | None = None

    @property
    def expires_at_iso(self) -> str:
        return _iso(self.expires_at)


@dataclass(slots=True)
class _Token:
    value: Secret
    refresh_at: float
    info: TokenInfo


@dataclass(slots=True)
class _Tally:
    """Failed attempts of one logical call, by kind: each kind has its own budget."""

    transient: int = 0
    rate_limited: int = 0
    token_rejected: int = 0
    last_detail: str = field(default="")


class _Retryable(Exception):
    """Internal signal: this attempt failed in a way the next attempt may not."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Transient(_Retryable):
    """5xx, a timeout or a dropped connection: retried with exponential back-off."""


class _RateLimited(_Retryable):
    """429: the pacer was told when to come back; retried once it allows."""


class _TokenRejected(_Retryable):
    """401 from the API: the token was dropped, retried once with a fresh one."""


class MiraklClient:
    """Talks to one Mirakl Connect seller account. One httpx client, one cached token.

    Every attempt of `list`, `upsert` and `delete` first takes a slot from the pacer, so no two
    calls of one operation are closer than the interval, across processes too.
    """

    def __init__(
        self,
        *,
        auth_url: str,
        api_url: str,
        client_id: str,
        client_secret: Secret,
        company_id: str | None,
        pacer: Pacer,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_wait: float = 1.0,
        max_attempts: int = 5,
        timeout: httpx.Timeout | float | None = None,
        ca_file: str | Path | None = FROM_ENV,
    ) -> None:
        self.auth_url = auth_url
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self.company_id = company_id or None
        self.pacer = pacer
        self._sent: dict[str, int] = {}
        self.retry_wait = retry_wait
        self.max_attempts = max(1, max_attempts)
        self._backoff = wait_exponential(multiplier=retry_wait, max=retry_wait * 30)
        self._secret = Secret(client_secret)
        redact.register(self._secret)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._http = make_client(transport=transport, ca_file=ca_file, **extra)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> MiraklClient:
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

    # public API -------------------------------------------------------------------------

    async def authenticate(self, *, force: bool = False) -> TokenInfo:
        """A valid token (cached, or fetched now) and what it says about the account."""
        if force:
            self._token = None
        token = await self._current_token()
        return token.info

    async def probe(self) -> dict[str, Any]:
        """Check the credentials end to end (token + one paced list call) and return the
        account's display details. Never includes the secret or the token."""
        await self._current_token()
        response = await self._request("list", "GET", params={"limit": 1})
        self._page(response)
        token = await self._current_token()
        return {
            "client_id": self.client_id,
            "company_id": token.info.company_id,
            "company_name": token.info.company_name,
            "token_expires_at": token.info.expires_at_iso,
        }

    async def list_products(self, limit: int = MAX_ITEMS) -> AsyncIterator[list[dict[str, Any]]]:
        """Every product of the catalog, one page (one paced call) at a time."""
        if not 1 <= limit <= MAX_ITEMS:
            raise ValueError(f"limit must be 1 to {MAX_ITEMS}, not {limit}")
        page_token: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": limit}
            if page_token:
                params["page_token"] = page_token
            response = await self._request("list", "GET", params=params)
            data, next_token = self._page(response)
            yield data
            if not next_token:
                return
            if next_token in seen:
                raise RemoteUnavailable(
                    "Mirakl Connect sent the same page of products twice.",
                    "Try again later; if it persists, report it to Mirakl support.",
                )
            seen.add(next_token)
            page_token = next_token

    def sent_count(self, operation: str) -> int:
        """How many requests of `operation` left this client (for callers that must know
        whether a failed call may still have reached Mirakl Connect)."""
        return self._sent.get(operation, 0)

    async def upsert_products(self, products: Sequence[dict[str, Any] | bytes]) -> None:
        """Create or update (PATCH-like) 1..1000 products in one paced call. Items may come
        already encoded as JSON objects (bytes): a sync keeps its batches that way, smaller."""
        _check_count("upsert_products", len(products))
        await self._request("upsert", "POST", body=await _encode_products(products))

    async def delete_products(self, ids: list[str]) -> None:
        """Delete 1..1000 products by id in one paced call; unknown ids are not an error."""
        _check_count("delete_products", len(ids))
        await self._request(
            "delete", "DELETE", body=await _encode_products([{"id": i} for i in ids])
        )

    # token ------------------------------------------------------------------------------

    async def _current_token(self) -> _Token:
        token = self._token
        if token is not None and time.time() < token.refresh_at:
            return token
        async with self._token_lock:
            token = self._token
            if token is None or time.time() >= token.refresh_at:
                token = await self._retrying(None, self._fetch_token)
                self._token = token
        return token

    async def _fetch_token(self, tally: _Tally) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.reveal(),
        }
        if self.company_id:
            form["audience"] = self.company_id
        sent_at = time.time()
        response = await self._send(tally, "POST", self.auth_url, hint=_AUTH_HINT, data=form)
        status = response.status_code
        if status >= 500 or status == 429:
            tally.transient += 1
            raise _Transient(f"the token URL answered HTTP {status}")
        payload = self._json(response, _AUTH_HINT, what="the token URL")
        if status == 200:
            return self._accept_token(payload, sent_at)
        # Only a code-shaped `error` is shown: proxies and WAFs answer 400 with the posted
        # form (the client secret) there.
        error = _code(payload.get("error")) or _code(payload.get("code"))
        if error in _DENIED_TOKEN_CODES or (status == 403 and error not in _REFUSED_TOKEN_CODES):
            raise self._company_refused(error)
        if error in _REFUSED_TOKEN_CODES or status == 401:
            raise CredentialsRefused(
                f"Mirakl Connect refused the client ID {self.client_id!r} or its secret.",
                _CREDENTIALS_HINT,
                code=error,
            )
        if status in (404, 405):
            raise RemoteUnavailable(
                f"{_where(self.auth_url)} is not a Mirakl Connect token endpoint (HTTP {status}).",
                _AUTH_HINT,
            )
        raise RemoteRejected(
            f"The Mirakl Connect token endpoint refused the request ({error or status}).",
            _AUTH_HINT,
            code=error,
            status=status,
        )

    def _company_refused(self, error: str | None) -> CredentialsRefused:
        if self.company_id:
            return CredentialsRefused(
                f"Mirakl Connect refused client ID {self.client_id!r} access to company "
                f"{self.company_id!r}.",
                "Check the company ID: it must be the Mirakl Connect company this API client "
                "belongs to.",
                code=error,
            )
        return CredentialsRefused(
            f"Mirakl Connect refused client ID {self.client_id!r} without a company ID.",
            "This API client needs its Mirakl Connect company ID: enter it too.",
            code=error,
        )

    def _accept_token(self, payload: dict[str, Any], sent_at: float) -> _Token:
        access = payload.get("access_token")
        token_type = _text(payload.get("token_type")) or "Bearer"
        if not isinstance(access, str) or not access or token_type.lower() != "bearer":
            raise RemoteUnavailable(
                f"{_where(self.auth_url)} answered without a Bearer access token.", _AUTH_HINT
            )
        redact.register(access)
        claims = _jwt_claims(access)
        expires_in = payload.get("expires_in")
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            exp = claims.get("exp")
            expires_in = exp - sent_at if isinstance(exp, int | float) else 300.0
        ttl = max(0.0, float(expires_in))
        expires_at = sent_at + ttl
        info = TokenInfo(
            expires_at=expires_at,
            company_id=_text(claims.get("company_id")) or self.company_id,
            company_name=_text(claims.get("company_name")),
        )
        log.info(
            "Mirakl Connect token for client %s, valid until %s",
            self.client_id,
            info.expires_at_iso,
        )
        leeway = min(TOKEN_LEEWAY, ttl / 3)
        return _Token(Secret(access), expires_at - leeway, info)

    # API calls --------------------------------------------------------------------------

    async def _request(
        self,
        operation: str,
        method: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        return await self._retrying(
            operation, partial(self._attempt, operation, method, params=params, body=body)
        )

    async def _attempt(
        self,
        operation: str,
        method: str,
        tally: _Tally,
        *,
        params: dict[str, Any] | None,
        body: Any,
    ) -> httpx.Response:
        token = await self._current_token()
        # Encode the body before waiting for the slot, and note the moment the request leaves:
        # the server measures the interval between arrivals, not between our reservations.
        headers = {"Authorization": f"Bearer {token.value.reveal()}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method, f"{self.api_url}/products", params=params, content=body, headers=headers
        )
        await self.pacer.slot(operation)
        self.pacer.mark_sent(operation)
        self._sent[operation] = self._sent.get(operation, 0) + 1
        response = await self._send(
            tally, method, str(request.url), hint=_API_HINT, request=request
        )
        status = response.status_code
        if status >= 500:
            tally.transient += 1
            raise _Transient(f"HTTP {status}")
        if status == 429:
            await self._rate_limited(operation, response, tally)
        if 200 <= status < 300:
            if _is_web_page(response):
                raise self._web_page(self.api_url, _API_HINT)
            return response
        payload = self._json(response, _API_HINT, what="the API URL")
        code = _code(payload.get("code"))
        if code == "TOO_MANY_REQUEST":
            await self._rate_limited(operation, response, tally)
        if status == 401 or code == "UNAUTHORIZED":
            tally.token_rejected += 1
            if self._token is token:
                self._token = None
            raise _TokenRejected("the access token was refused")
        if status == 403 or code == "FORBIDDEN":
            raise CredentialsRefused(
                f"The API client {self.client_id!r} may not use the {_LABELS[operation]} call "
                "(HTTP 403).",
                "Give the API client the product permissions (read, write and delete) in your "
                "Mirakl Connect account settings.",
                code=code,
            )
        if status in (404, 405):
            raise RemoteUnavailable(
                f"{_where(self.api_url)} has no Mirakl Connect products API (HTTP {status}).",
                _API_HINT,
            )
        errors = _field_errors(payload.get("errors"))
        message = _one_line(_text(payload.get("message")) or f"HTTP {status}")
        log.warning(
            "Mirakl Connect rejected the %s call: %s %s %s",
            _LABELS[operation],
            code,
            message,
            errors,
        )
        raise RemoteRejected(
            f"Mirakl Connect rejected the {_LABELS[operation]} call ({code or status}): {message}",
            "Each refused field is listed in the log file." if errors else "",
            code=code,
            status=status,
            errors=errors,
        )

    async def _rate_limited(
        self, operation: str, response: httpx.Response, tally: _Tally
    ) -> NoReturn:
        seconds = _retry_after(response.headers.get("retry-after"))
        wait = seconds if seconds is not None else self.pacer.interval
        await self.pacer.after_retry_after(operation, wait)
        tally.rate_limited += 1
        raise _RateLimited(f"too many requests, retry after {wait:g} s")

    def _page(self, response: httpx.Response) -> tuple[list[dict[str, Any]], str | None]:
        payload = self._json(response, _API_HINT, what="the API URL")
        data = payload.get("data")
        next_token = payload.get("next_page_token")
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise RemoteUnavailable(
                f"{_where(self.api_url)} answered something that is not a page of products.",
                _API_HINT,
            )
        return data, next_token if isinstance(next_token, str) and next_token else None

    # transport and retries --------------------------------------------------------------

    async def _retrying(self, operation: str | None, attempt: Any) -> Any:
        """Run `attempt(tally)` under tenacity: back-off for transient failures, a new slot
        after a 429, one fresh token after a 401. Then turn what is left into a user error."""
        tally = _Tally()
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Retryable),
            stop=partial(self._should_stop, tally),
            wait=self._wait,
            before_sleep=partial(self._log_retry, operation),
            reraise=True,
        )
        what = "token" if operation is None else _LABELS[operation]
        try:
            return await retrying(attempt, tally)
        except _Transient as exc:
            raise RemoteUnavailable(
                f"Mirakl Connect did not answer the {what} call after {tally.transient} "
                f"attempt(s): {exc.detail}.",
                "The service may be down or overloaded; try again in a few minutes.",
            ) from exc
        except _RateLimited as exc:
            raise RemoteUnavailable(
                f"Mirakl Connect kept answering 'too many requests' to the {what} call.",
                "Another program may be using the same API client; try again later.",
            ) from exc
        except _TokenRejected as exc:
            raise CredentialsRefused(
                f"Mirakl Connect refused the access token it issued to client ID "
                f"{self.client_id!r}.",
                "The API client may have been disabled or deleted; check it in your Mirakl "
                "Connect account settings, then connect again.",
            ) from exc

    def _should_stop(self, tally: _Tally, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RateLimited):
            return tally.rate_limited >= MAX_RATE_LIMITED
        if isinstance(exc, _TokenRejected):
            return tally.token_rejected > 1
        return tally.transient >= self.max_attempts

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient):
            # The pacer does the waiting after a 429 or a 401; only transient failures back off.
            return float(self._backoff(state))
        return 0.0

    def _log_retry(self, operation: str | None, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "Mirakl Connect %s call failed (%s); trying again in %.2f s",
            "token" if operation is None else _LABELS[operation],
            getattr(exc, "detail", type(exc).__name__),
            wait,
        )

    async def _send(
        self,
        tally: _Tally,
        method: str,
        url: str,
        *,
        hint: str,
        request: httpx.Request | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            if request is not None:
                return await self._http.send(request)
            return await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            tally.transient += 1
            raise _Transient(f"{_where(url)} timed out ({type(exc).__name__})") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise UsageError(f"{_where(url)} is not a usable URL.", hint) from exc
        except httpx.ConnectError as exc:
            raise RemoteUnavailable(
                f"Could not reach Mirakl Connect at {_where(url)} ({_reason(exc)}).",
                f"Check the network connection. {hint}",
            ) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            tally.transient += 1
            raise _Transient(f"{_where(url)} dropped the connection ({_reason(exc)})") from exc
        except httpx.TransportError as exc:
            raise RemoteUnavailable(
                f"Could not talk to Mirakl Connect at {_where(url)} ({_reason(exc)}).",
                f"Check the network connection and any proxy settings. {hint}",
            ) from exc

    def _json(self, response: httpx.Response, hint: str, *, what: str) -> dict[str, Any]:
        url = str(response.request.url)
        if _is_web_page(response):
            raise self._web_page(url, hint)
        try:
            payload = response.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            raise RemoteUnavailable(
                f"{what.capitalize()} {_where(url)} answered HTTP {response.status_code} without "
                "the JSON the Mirakl Connect API sends.",
                hint,
            )
        return payload

    @staticmethod
    def _web_page(url: str, hint: str) -> ConnectorError:
        return RemoteUnavailable(
            f"{_where(url)} answered with a web page, not the Mirakl Connect API.", hint
        )


# helpers ----------------------------------------------------------------------------------


async def _encode_products(products: Sequence[dict[str, Any] | bytes]) -> bytes:
    """`{"products": [...]}` as bytes, encoded once for every attempt, off the event loop
    (a 1000-product body takes tens of milliseconds)."""

    def encode() -> bytes:
        items = [
            p if isinstance(p, bytes) else json.dumps(p, separators=(",", ":")).encode()
            for p in products
        ]
        return b'{"products":[' + b",".join(items) + b"]}"

    return await asyncio.to_thread(encode)


def _check_count(what: str, count: int) -> None:
    if not 1 <= count <= MAX_ITEMS:
        raise ValueError(f"{what} takes 1 to {MAX_ITEMS} items per call, not {count}")


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _where(url: str) -> str:
    """Scheme, host and port only: never a path, a query or user info."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "the configured URL"
    if not parsed.host:
        return "the configured URL"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _reason(exc: Exception) -> str:
    return _one_line(redact.scrub(str(exc))) or type(exc).__name__


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(redact.scrub(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


def _code(value: Any) -> str | None:
    """An error code as an API sends one (`invalid_client`, `FORBIDDEN`); anything else
    (a sentence, an echoed form) is not a code and is not repeated."""
    text = _text(value)
    return text if text is not None and _CODE.fullmatch(text) else None


def _is_web_page(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    if "html" in content_type:
        return True
    return response.content.lstrip()[:1] == b"<"


def _field_errors(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    found = []
    for entry in raw:
        if isinstance(entry, dict):
            found.append(
                {
                    "field": _one_line(str(entry.get("field", ""))),
                    "message": _one_line(str(entry.get("message", ""))),
                }
            )
    return found


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` as delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)  # delta-seconds (some servers send a decimal)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token, decoded without verification: for display only."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
