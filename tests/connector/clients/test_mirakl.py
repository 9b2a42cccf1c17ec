"""The Mirakl Connect client against the sandbox: in-process (ASGI) and over loopback.

Every request body the client sends through the recording transport is checked against the
spec's `UpsertProductsRequest` / `DeleteProductsRequest` schemas when the test ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from connector.clients.mirakl import MiraklClient
from connector.errors import ConnectorError, CredentialsRefused, RemoteRejected, RemoteUnavailable
from connector.pacing import Pacer
from connector.redact import setup_logging
from connector.sandbox.faults import Faults
from connector.sandbox.mirakl import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_COMPANY_ID,
    MiraklSandbox,
)
from connector.secret import Secret
from connector.store import Store
from tests import spec

INTERVAL = 0.2
# The pacer keeps a guard of 1 % of the interval (0.5 s of production's 60 s) against timing
# noise. At 0.2 s that is 2 ms, below the event loop's timer granularity and a thread switch
# (5 ms), noise that does not shrink with the interval; so tests give the client's pacer a
# fixed margin over the server's interval, as production's 0.5 s does.
MARGIN = 0.03
BASE = "http://mirakl.sandbox"
AUTH_URL = f"{BASE}/oauth/token"
API_URL = f"{BASE}/api"
SCHEMA_OF = {"POST": "UpsertProductsRequest", "DELETE": "DeleteProductsRequest"}

MakeClient = Callable[..., MiraklClient]


class Recorder(httpx.AsyncBaseTransport):
    """Hands each request to the real transport and keeps what went out and what came back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.inner.handle_async_request(request)
        self.exchanges.append((request, response.status_code))
        return response

    def api_requests(self) -> list[tuple[httpx.Request, int]]:
        return [(r, s) for r, s in self.exchanges if r.url.path.endswith("/products")]

    def bodies(self) -> list[tuple[str, Any]]:
        """(schema name, parsed body) of every upsert and delete the client sent."""
        return [
            (SCHEMA_OF[r.method], json.loads(r.content))
            for r, _ in self.api_requests()
            if r.method in SCHEMA_OF
        ]


def assert_paced(sandbox: MiraklSandbox, interval: float) -> None:
    """From the server's side: no two accepted calls of one operation closer than `interval`,
    and not a single 429."""
    for operation in ("list", "upsert", "delete"):
        times = [c.at for c in sandbox.calls_of(operation) if c.accepted]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert all(gap >= interval for gap in gaps), (operation, gaps)
    assert [c for c in sandbox.calls if c.status == 429] == []


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1, port 0, in a thread; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _texts(exc: BaseException) -> str:
    """Everything an exception could show: message, repr, hint, and its whole chain."""
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts += [str(current), repr(current), str(current.args)]
        if isinstance(current, ConnectorError):
            parts += [current.hint, current.one_line()]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _product(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"sku-{n:04d}", "quantities": [{"available_quantity": n}], **extra}


def new_client(store: Store, *, interval: float = 0.0, **overrides: Any) -> MiraklClient:
    """A client of the demo account on `store`'s pacer; `overrides` replace any argument."""
    options: dict[str, Any] = {
        "auth_url": AUTH_URL,
        "api_url": API_URL,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": Secret(DEMO_CLIENT_SECRET),
        "company_id": None,
        "pacer": Pacer(store, interval),
    }
    return MiraklClient(**{**options, **overrides})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state.sqlite3") as opened:
        yield opened


@pytest.fixture
def sandbox() -> MiraklSandbox:
    return MiraklSandbox(interval=INTERVAL)


@pytest.fixture
def recorder(sandbox: MiraklSandbox) -> Iterator[Recorder]:
    recording = Recorder(httpx.ASGITransport(app=sandbox.app))
    yield recording
    for schema_name, body in recording.bodies():
        assert spec.problems(schema_name, body) == [], body


@pytest.fixture
async def make_client(store: Store, recorder: Recorder) -> AsyncIterator[MakeClient]:
    made: list[MiraklClient] = []

    def make(**overrides: Any) -> MiraklClient:
        options: dict[str, Any] = {
            "transport": recorder,
            "retry_wait": 0.01,
            "max_attempts": 5,
            **overrides,
        }
        client = new_client(store, interval=INTERVAL + MARGIN, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


# token ------------------------------------------------------------------------------------


async def test_probe_returns_the_accounts_display_details(
    make_client: MakeClient, sandbox: MiraklSandbox, recorder: Recorder
) -> None:
    details = await make_client().probe()

    assert details["client_id"] == DEMO_CLIENT_ID
    assert details["company_id"] == DEMO_COMPANY_ID
    assert details["company_name"] == "Demo Seller Co."
    assert details["token_expires_at"].endswith("Z")
    assert DEMO_CLIENT_SECRET not in json.dumps(details)
    assert [(c.operation, c.status) for c in sandbox.calls] == [("token", 200), ("list", 200)]
    ((list_request, _),) = recorder.api_requests()
    assert list_request.url.params["limit"] == "1"


async def test_token_is_cached(make_client: MakeClient, sandbox: MiraklSandbox) -> None:
    client = make_client()
    first = await client.authenticate()
    second = await client.authenticate()

    assert first == second
    assert first.company_name == "Demo Seller Co."
    assert first.expires_at > time.time() + 3000
    assert len(sandbox.calls_of("token")) == 1


async def test_token_is_refreshed_before_it_expires(
    make_client: MakeClient, sandbox: MiraklSandbox
) -> None:
    sandbox.token_ttl = 1  # leeway: a third of the TTL
    client = make_client()
    await client.authenticate()
    await asyncio.sleep(0.75)

    await client.probe()

    assert [(c.operation, c.status) for c in sandbox.calls] == [
        ("token", 200),
        ("token", 200),
        ("list", 200),
    ]


async def test_token_is_refreshed_once_when_the_api_answers_401(
    make_client: MakeClient, sandbox: MiraklSandbox
) -> None:
    client = make_client()
    await client.authenticate()
    sandbox.revoke_tokens()

    await client.upsert_products([_product(1)])

    assert [(c.operation, c.status) for c in sandbox.calls] == [
        ("token", 200),
        ("upsert", 401),
        ("token", 200),
        ("upsert", 202),
    ]
    assert "sku-0001" in sandbox.products


async def test_a_token_the_api_keeps_refusing_is_refused_credentials(store: Store) -> None:
    api_calls: list[str] = []

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "opaque", "token_type": "Bearer", "expires_in": 60})

    async def products(request: Request) -> Response:
        api_calls.append(request.headers["authorization"])
        return JSONResponse({"code": "UNAUTHORIZED", "message": "no"}, status_code=401)

    app = Starlette(
        routes=[Route("/oauth/token", token, methods=["POST"]), Route("/api/products", products)]
    )
    async with new_client(
        store,
        client_id="someone",
        client_secret=Secret("a-secret-value-123"),
        transport=httpx.ASGITransport(app=app),
    ) as client:
        with pytest.raises(CredentialsRefused) as caught:
            await client.probe()

    assert len(api_calls) == 2
    assert caught.value.exit_code == 3
    assert "access token" in caught.value.message


async def test_audience_is_sent_and_kept_on_refresh(store: Store) -> None:
    sandbox = MiraklSandbox(interval=0, audiences={DEMO_CLIENT_ID: "company-42"}, token_ttl=1)
    async with new_client(
        store, company_id="company-42", transport=httpx.ASGITransport(app=sandbox.app)
    ) as client:
        details = await client.probe()
        await asyncio.sleep(0.75)
        await client.probe()

    assert details["company_id"] == "company-42"
    assert [(c.operation, c.status) for c in sandbox.calls_of("token")] == [
        ("token", 200),
        ("token", 200),
    ]


@pytest.mark.parametrize(
    ("company_id", "words"), [(None, "company ID"), ("company-7", "company-7")]
)
async def test_a_missing_or_wrong_company_is_refused(
    store: Store, company_id: str | None, words: str
) -> None:
    sandbox = MiraklSandbox(interval=0, audiences={DEMO_CLIENT_ID: "company-42"})
    async with new_client(
        store, company_id=company_id, transport=httpx.ASGITransport(app=sandbox.app)
    ) as client:
        with pytest.raises(CredentialsRefused) as caught:
            await client.authenticate()

    assert words in caught.value.one_line()
    assert caught.value.code == "access_denied"


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [(DEMO_CLIENT_ID, "wrong-secret-0123456789"), ("unknown-client", DEMO_CLIENT_SECRET)],
)
async def test_refused_client_id_or_secret(
    make_client: MakeClient, client_id: str, secret: str
) -> None:
    client = make_client(client_id=client_id, client_secret=Secret(secret))
    with pytest.raises(CredentialsRefused) as caught:
        await client.probe()

    assert caught.value.exit_code == 3
    assert caught.value.code == "invalid_client"
    assert "Mirakl Connect" in caught.value.hint
    assert secret not in _texts(caught.value)


@pytest.mark.parametrize(
    "secret",
    ["plain-secret-0123456789", "with&form=chars+/ and space", "ünï-cödé-sécret-0123"],
)
async def test_a_token_endpoint_echoing_the_form_does_not_repeat_the_secret(
    store: Store, secret: str
) -> None:
    """Proxies and WAFs answer 400 with the posted form in `error`."""
    from urllib.parse import quote, quote_plus

    sandbox = MiraklSandbox(interval=0, echo_token_form=True)
    client = new_client(
        store,
        client_secret=Secret(secret),
        transport=httpx.ASGITransport(app=sandbox.app),
        retry_wait=0.01,
    )
    async with client:
        with pytest.raises(ConnectorError) as caught:
            await client.probe()
    text = _texts(caught.value) + str(caught.value.code)
    assert caught.value.exit_code == 1
    assert "(400)" in caught.value.message
    for form in (secret, quote_plus(secret), quote(secret, safe=""), quote(secret)):
        assert form not in text


# remote problems --------------------------------------------------------------------------


def _html_app() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse("<!doctype html><html><body>Welcome to our shop</body></html>")

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST", "DELETE"])])


async def test_a_token_url_answering_html_is_remote_unavailable(store: Store) -> None:
    async with new_client(
        store,
        auth_url="https://shop.example/oauth/token",
        transport=httpx.ASGITransport(app=_html_app()),
    ) as client:
        with pytest.raises(RemoteUnavailable) as caught:
            await client.probe()

    assert caught.value.exit_code == 4
    assert "answered with a web page, not the Mirakl Connect API" in caught.value.message
    assert "MIRAKL_WOO_AUTH_URL" in caught.value.hint


@pytest.mark.parametrize(
    ("api_path", "words"),
    [("/html/api", "web page"), ("/nowhere", "no Mirakl Connect products API")],
)
async def test_an_api_url_that_is_not_the_api_is_remote_unavailable(
    store: Store, sandbox: MiraklSandbox, api_path: str, words: str
) -> None:
    app = Starlette(routes=[Mount("/html", _html_app()), Mount("/", sandbox.app)])
    async with new_client(
        store, api_url=f"{BASE}{api_path}", transport=httpx.ASGITransport(app=app)
    ) as client:
        with pytest.raises(RemoteUnavailable) as caught:
            await client.probe()

    assert words in caught.value.message
    assert "MIRAKL_WOO_API_URL" in caught.value.hint


async def test_an_unreachable_port_is_remote_unavailable_at_once(store: Store) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    started = time.monotonic()
    async with new_client(
        store,
        auth_url=f"http://127.0.0.1:{port}/oauth/token",
        api_url=f"http://127.0.0.1:{port}/api",
    ) as client:
        with pytest.raises(RemoteUnavailable) as caught:
            await client.probe()

    assert time.monotonic() - started < 2
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "MIRAKL_WOO_AUTH_URL" in caught.value.hint


async def test_dropped_connections_are_retried_then_remote_unavailable(store: Store) -> None:
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(10)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with new_client(
            store,
            auth_url=f"http://127.0.0.1:{port}/oauth/token",
            api_url=f"http://127.0.0.1:{port}/api",
            retry_wait=0.01,
            max_attempts=3,
        ) as client:
            with pytest.raises(RemoteUnavailable) as caught:
                await client.authenticate()
    finally:
        server.close()
        await server.wait_closed()

    assert connections == 3
    assert "3 attempt(s)" in caught.value.message
    assert "dropped the connection" in caught.value.message


async def test_5xx_faults_are_retried_with_back_off(store: Store) -> None:
    faults = Faults(error_rate=0.4, seed=7, only_paths=("/api",))
    faulty = MiraklSandbox(interval=0.05, faults=faults)
    recorder = Recorder(httpx.ASGITransport(app=faulty.app))
    async with new_client(
        store, interval=0.05 + MARGIN, transport=recorder, retry_wait=0.01
    ) as client:
        for batch in range(4):
            await client.upsert_products([_product(batch * 10 + n) for n in range(10)])
        pages = [page async for page in client.list_products(limit=25)]

    assert sorted(faulty.products) == [f"sku-{n:04d}" for n in range(40)]
    assert [len(p) for p in pages] == [25, 15]
    statuses = [status for _, status in recorder.api_requests()]
    assert statuses.count(503) >= 2
    assert_paced(faulty, 0.05)
    for schema_name, body in recorder.bodies():
        assert spec.problems(schema_name, body) == []


async def test_a_server_that_keeps_failing_gives_up_after_max_attempts(store: Store) -> None:
    faulty = MiraklSandbox(interval=0, faults=Faults(error_rate=1.0, only_paths=("/api",)))
    recorder = Recorder(httpx.ASGITransport(app=faulty.app))
    async with new_client(store, transport=recorder, retry_wait=0.01, max_attempts=3) as client:
        with pytest.raises(RemoteUnavailable) as caught:
            await client.delete_products(["sku-0001"])

    assert [s for _, s in recorder.api_requests()] == [503, 503, 503]
    assert "HTTP 503" in caught.value.message


async def test_timeouts_are_retried_then_remote_unavailable(store: Store) -> None:
    slow = MiraklSandbox(interval=0, faults=Faults(latency=0.5, only_paths=("/api",)))
    with served(slow.app) as base:
        urls = MiraklSandbox.urls(base)
        async with MiraklClient(
            **urls,
            client_id=DEMO_CLIENT_ID,
            client_secret=Secret(DEMO_CLIENT_SECRET),
            company_id=None,
            pacer=Pacer(store, 0),
            retry_wait=0.01,
            max_attempts=2,
            timeout=0.15,
        ) as client:
            with pytest.raises(RemoteUnavailable) as caught:
                await client.probe()

    assert "timed out" in caught.value.message
    assert "2 attempt(s)" in caught.value.message


async def test_a_rejected_upsert_carries_the_field_errors(
    store: Store, sandbox: MiraklSandbox
) -> None:
    sandbox.interval = 0
    async with new_client(store, transport=httpx.ASGITransport(app=sandbox.app)) as client:
        with pytest.raises(RemoteRejected) as caught:
            await client.upsert_products([_product(1, gtins=[{"value": "12345"}])])

    assert caught.value.code == "INVALID_INPUT"
    assert caught.value.status == 400
    assert caught.value.exit_code == 1
    assert caught.value.errors[0]["field"] == "products[0].gtins[0].value"
    assert sandbox.products == {}


@pytest.mark.parametrize("count", [0, 1001])
async def test_batches_outside_1_to_1000_are_refused_before_sending(
    make_client: MakeClient, recorder: Recorder, count: int
) -> None:
    client = make_client()
    with pytest.raises(ValueError):
        await client.upsert_products([_product(n) for n in range(count)])
    with pytest.raises(ValueError):
        await client.delete_products([f"sku-{n}" for n in range(count)])
    with pytest.raises(ValueError):
        async for _ in client.list_products(limit=count):
            pass

    assert recorder.exchanges == []


# pacing -----------------------------------------------------------------------------------


async def test_normal_use_is_paced_without_a_single_429(
    make_client: MakeClient, sandbox: MiraklSandbox, recorder: Recorder
) -> None:
    client = make_client()
    await client.probe()
    for batch in range(3):
        await client.upsert_products([_product(batch * 5 + n) for n in range(5)])
    ids = [p["id"] async for page in client.list_products(limit=6) for p in page]
    await client.delete_products(ids[:4])
    await client.delete_products(ids[4:])

    assert ids == sorted(f"sku-{n:04d}" for n in range(15))
    assert sandbox.products == {}
    assert len(sandbox.calls_of("list")) == 4
    assert_paced(sandbox, INTERVAL)


async def test_pacing_holds_across_two_processes_sharing_the_database(
    tmp_path: Path, sandbox: MiraklSandbox, recorder: Recorder
) -> None:
    database = tmp_path / "shared.sqlite3"
    with Store(database) as first_store, Store(database) as second_store:

        async def worker(store: Store, offset: int) -> None:
            async with new_client(store, interval=INTERVAL + MARGIN, transport=recorder) as client:
                for batch in range(3):
                    await client.upsert_products([_product(offset + batch)])

        started = time.monotonic()
        await asyncio.gather(worker(first_store, 0), worker(second_store, 100))

    assert len(sandbox.products) == 6
    assert len(sandbox.calls_of("upsert")) == 6
    assert time.monotonic() - started >= 5 * INTERVAL
    assert_paced(sandbox, INTERVAL)


async def test_a_429_is_honoured_and_recovered(store: Store, sandbox: MiraklSandbox) -> None:
    sandbox.interval = 0.5  # the server is stricter than this client's pacer believes
    async with new_client(store, transport=httpx.ASGITransport(app=sandbox.app)) as client:
        await client.probe()
        pages = [page async for page in client.list_products()]

    lists = sandbox.calls_of("list")
    assert pages == [[]]
    assert [c.status for c in lists] == [200, 429, 200]
    assert lists[2].at - lists[1].at >= 1.0  # Retry-After: 1


# over loopback ----------------------------------------------------------------------------


async def test_over_loopback_a_full_cycle_is_paced(store: Store, sandbox: MiraklSandbox) -> None:
    with served(sandbox.app) as base:
        async with MiraklClient(
            **MiraklSandbox.urls(base),
            client_id=DEMO_CLIENT_ID,
            client_secret=Secret(DEMO_CLIENT_SECRET),
            company_id=None,
            pacer=Pacer(store, INTERVAL + MARGIN),
        ) as client:
            details = await client.probe()
            await client.upsert_products([_product(n) for n in range(3)])
            await client.upsert_products([_product(1, brand="Acme")])
            pages = [page async for page in client.list_products(limit=2)]
            await client.delete_products(["sku-0000", "sku-0002", "unknown"])

    assert details["company_name"] == "Demo Seller Co."
    assert [[p["id"] for p in page] for page in pages] == [["sku-0000", "sku-0001"], ["sku-0002"]]
    assert list(sandbox.products) == ["sku-0001"]
    assert sandbox.products["sku-0001"]["brand"] == "Acme"
    assert_paced(sandbox, INTERVAL)


# spec and secrets -------------------------------------------------------------------------


async def test_every_body_sent_follows_the_spec(
    make_client: MakeClient, recorder: Recorder
) -> None:
    rich = {
        "id": "tee-red-m",
        "titles": [{"locale": "en_US", "value": "T-shirt"}],
        "descriptions": [{"locale": "en_US", "value": "Soft cotton."}],
        "brand": "Acme",
        "gtins": [{"value": "4006381333931"}],
        "images": [{"url": "https://shop.example/tee.png"}],
        "category": {"id": "tees", "labels": [{"locale": "en_US", "value": "T-shirts"}]},
        "standard_prices": [{"price": {"amount": 19.9, "currency": "EUR"}}],
        "discount_prices": [
            {
                "price": {"amount": 14.9, "currency": "EUR"},
                "start_date": "2025-01-01T00:00:00Z",
                "end_date": "2025-02-01T00:00:00Z",
            }
        ],
        "quantities": [{"available_quantity": 7, "warehouse_code": "main"}],
        "attributes": [
            {"id": "color", "name": "Color", "type": "STRING", "value": "red"},
            {"id": "weight", "name": "Weight", "type": "NUMERIC", "value": 0.2},
            {"id": "organic", "name": "Organic", "type": "BOOLEAN", "value": True},
        ],
    }
    client = make_client()
    await client.upsert_products([rich, _product(2)])
    await client.upsert_products([{"id": "tee-red-m", "discount_prices": None, "brand": None}])
    await client.delete_products(["tee-red-m", "sku-0002"])

    bodies = recorder.bodies()
    assert [name for name, _ in bodies] == [
        "UpsertProductsRequest",
        "UpsertProductsRequest",
        "DeleteProductsRequest",
    ]
    for schema_name, body in bodies:
        assert spec.problems(schema_name, body) == []
    assert spec.problems(
        "UpsertProductsRequest", {"products": [{"id": "x", "gtins": [{"value": "1"}]}]}
    )


async def test_the_secret_and_token_never_reach_errors_or_the_log(
    tmp_path: Path, make_client: MakeClient, sandbox: MiraklSandbox, recorder: Recorder
) -> None:
    log_path = tmp_path / "mirakl-woo.log"
    setup_logging(str(log_path), logging.DEBUG)
    wrong_secret = "wrong-secret-kJ8s7d6f5g4h"
    failures: list[BaseException] = []
    try:
        client = make_client()
        await client.probe()
        sandbox.revoke_tokens()
        await client.upsert_products([_product(1)])
        with pytest.raises(RemoteRejected) as rejected:
            # spec-valid (the schema allows extra fields), refused by the stricter sandbox
            await client.upsert_products([_product(2, colour="red")])
        failures.append(rejected.value)
        with pytest.raises(CredentialsRefused) as refused:
            await make_client(client_secret=Secret(wrong_secret)).authenticate()
        failures.append(refused.value)
    finally:
        setup_logging(None)

    tokens = {
        r.headers["authorization"].removeprefix("Bearer ")
        for r, _ in recorder.exchanges
        if "authorization" in r.headers
    }
    assert len(tokens) == 2
    logged = log_path.read_text(encoding="utf-8")
    assert "token for client" in logged
    assert "rejected the product upsert call" in logged
    shown = logged + "".join(_texts(f) for f in failures)
    for value in (DEMO_CLIENT_SECRET, wrong_secret, *tokens):
        assert value not in shown
