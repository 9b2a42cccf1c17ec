"""What both clients share: timeouts, User-Agent, redacted logging of every exchange."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import httpx

from connector import __version__
from connector.redact import scrub

USER_AGENT = f"mirakl-woo/{__version__} (+https://github.com/mirakl-woo/mirakl-woo)"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_REDACTED_PARAMS = (
    "consumer_key",
    "consumer_secret",
    "oauth_consumer_key",
    "oauth_signature",
    "client_secret",
    "access_token",
)

log = logging.getLogger("connector.http")


def safe_url(url: httpx.URL) -> str:
    """The URL with credential-bearing query parameters blanked."""
    params = [(k, "***" if k in _REDACTED_PARAMS else v) for k, v in url.params.multi_items()]
    return scrub(str(url.copy_with(params=params or None)))


async def _log_request(request: httpx.Request) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("→ %s %s", request.method, safe_url(request.url))


async def _log_response(response: httpx.Response) -> None:
    # A sync reads thousands of pages: successful reads are DEBUG, writes and failures INFO.
    request = response.request
    level = logging.DEBUG if request.method == "GET" and response.is_success else logging.INFO
    if log.isEnabledFor(level):
        log.log(level, "← %s %s %s", response.status_code, request.method, safe_url(request.url))


class AsyncClient(httpx.AsyncClient):
    """httpx's client, minus the reference cycle each answer makes with its body stream
    (encode/httpx#3733): a sync reads hundreds of pages a second, and each cycle left ~40
    objects for Python's cyclic garbage collector, whose full passes then stopped the
    event loop (and the screen's keys) for tens of milliseconds, several times a second."""

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        if response.is_closed:  # read to the end (not a `stream=True` send)
            response.stream = _DRAINED
        return response


#: What a closed answer's stream becomes: its content was read already.
_DRAINED = httpx.ByteStream(b"")


#: "Read MIRAKL_WOO_CA_FILE from the environment" (the default of `make_client`).
FROM_ENV: Any = object()


def tls_context(ca_file: str | Path | None) -> ssl.SSLContext | bool:
    """What httpx verifies certificates with: its default (certifi's roots), plus the extra
    certificates of `ca_file` (a self-signed store, a private CA) when there is one."""
    if ca_file is None:
        return True
    import certifi  # httpx's own source of trusted roots

    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=str(ca_file))
    return context


def make_client(
    *,
    base_url: str = "",
    transport: Any = None,
    ca_file: str | Path | None = FROM_ENV,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """One AsyncClient per remote system: keep-alive pool, explicit timeouts, logged exchanges,
    certificates checked against the default roots plus `MIRAKL_WOO_CA_FILE`."""
    if ca_file is FROM_ENV:
        from connector.settings import ca_file_from_env

        ca_file = ca_file_from_env()
    return AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=kwargs.pop("timeout", TIMEOUT),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        event_hooks={"request": [_log_request], "response": [_log_response]},
        follow_redirects=kwargs.pop("follow_redirects", False),
        verify=tls_context(ca_file) if transport is None else True,
        **kwargs,
    )
