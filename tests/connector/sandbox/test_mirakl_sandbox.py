"""The Mirakl Connect sandbox answers like the spec says, checked with plain HTTP calls."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connector.sandbox.faults import Faults
from connector.sandbox.mirakl import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_COMPANY_ID,
    MiraklSandbox,
)
from tests import spec

BASE = "http://mirakl.sandbox"


def _named_examples(method: str) -> list[Any]:
    """The spec's own request examples, minus the generated `-auto` ones (placeholder values
    such as `"category": "object"` that no server would accept)."""
    operation = spec.spec()["paths"]["/products"][method]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    return [e["value"] for name, e in sorted(examples.items()) if not name.endswith("-auto")]


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def sandbox() -> MiraklSandbox:
    return MiraklSandbox(interval=0)


@pytest.fixture
async def http(sandbox: MiraklSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE
    ) as client:
        yield client


async def _token(http: httpx.AsyncClient, **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        **form,
    }
    return await http.post("/oauth/token", data=data)


async def _auth(http: httpx.AsyncClient) -> dict[str, str]:
    response = await _token(http)
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _upsert(
    http: httpx.AsyncClient, headers: dict[str, str], products: Any
) -> httpx.Response:
    return await http.post("/api/products", json={"products": products}, headers=headers)


async def _delete(
    http: httpx.AsyncClient, headers: dict[str, str], ids: list[str]
) -> httpx.Response:
    body = {"products": [{"id": i} for i in ids]}
    return await http.request("DELETE", "/api/products", json=body, headers=headers)


# token --------------------------------------------------------------------------------------


async def test_token_is_a_jwt_naming_the_client_and_its_company(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    response = await _token(http)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert response.headers["cache-control"] == "no-store"
    assert len(body["access_token"].split(".")) == 3
    claims = _claims(body["access_token"])
    assert claims["sub"] == DEMO_CLIENT_ID
    assert claims["company_id"] == DEMO_COMPANY_ID
    assert claims["company_name"] == "Demo Seller Co."
    assert claims["exp"] >= claims["iat"] + 3599
    assert [(c.operation, c.status) for c in sandbox.calls] == [("token", 200)]


async def test_token_accepts_http_basic_client_authentication(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "not-the-secret"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"client_secret": ""}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
    ],
)
async def test_token_refusals_follow_rfc_6749(
    http: httpx.AsyncClient, form: dict[str, str], status: int, error: str
) -> None:
    response = await _token(http, **form)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert "error_description" in response.json()
    assert DEMO_CLIENT_SECRET not in response.text


async def test_audience_must_name_the_clients_company() -> None:
    sandbox = MiraklSandbox(
        clients={"acme": "acme-secret-123456"}, audiences={"acme": "company-42"}
    )
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        form = {"grant_type": "client_credentials", "client_id": "acme"}
        form["client_secret"] = "acme-secret-123456"
        missing = await http.post("/oauth/token", data=form)
        wrong = await http.post("/oauth/token", data={**form, "audience": "company-7"})
        right = await http.post("/oauth/token", data={**form, "audience": "company-42"})

    assert (missing.status_code, missing.json()["error"]) == (403, "access_denied")
    assert (wrong.status_code, wrong.json()["error"]) == (403, "access_denied")
    assert right.status_code == 200
    assert _claims(right.json()["access_token"])["company_id"] == "company-42"


# authentication of the API -----------------------------------------------------------------


async def test_api_requires_a_valid_unexpired_bearer_token(http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/products")
    garbage = await http.get("/api/products", headers={"Authorization": "Bearer a.b.c"})

    for response in (missing, garbage):
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHORIZED"


async def test_expired_and_revoked_tokens_are_refused(sandbox: MiraklSandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        headers = await _auth(http)
        assert (await http.get("/api/products", headers=headers)).status_code == 200
        sandbox.revoke_tokens()
        assert (await http.get("/api/products", headers=headers)).status_code == 401

        sandbox.token_ttl = 0
        expired = await _auth(http)
        response = await http.get("/api/products", headers=expired)
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHORIZED"


# upsert, list, delete ----------------------------------------------------------------------


async def test_upsert_is_patch_like_and_null_removes_a_field(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    headers = await _auth(http)
    first = {
        "id": "mug-1",
        "brand": "Acme",
        "titles": [{"locale": "en_US", "value": "Mug"}],
        "quantities": [{"available_quantity": 5, "warehouse_code": "main"}],
    }
    created = await _upsert(http, headers, [first])
    update = {"id": "mug-1", "quantities": [{"available_quantity": 0, "warehouse_code": "main"}]}
    updated = await _upsert(http, headers, [update])
    removed = await _upsert(http, headers, [{"id": "mug-1", "brand": None}])

    assert [r.status_code for r in (created, updated, removed)] == [202, 202, 202]
    assert sandbox.products["mug-1"] == {
        "id": "mug-1",
        "titles": [{"locale": "en_US", "value": "Mug"}],
        "quantities": [{"available_quantity": 0, "warehouse_code": "main"}],
    }


async def test_the_specs_own_examples_are_accepted(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    headers = await _auth(http)
    for body in _named_examples("post"):
        response = await http.post("/api/products", json=body, headers=headers)
        assert response.status_code == 202, response.text
    for body in _named_examples("delete"):
        response = await http.request("DELETE", "/api/products", json=body, headers=headers)
        assert response.status_code == 202, response.text
    assert sorted(sandbox.products) == ["iphone14pro", "playStation5"]


async def test_delete_is_idempotent_and_ignores_unknown_ids(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    sandbox.seed([{"id": "a"}, {"id": "b"}])
    headers = await _auth(http)

    first = await _delete(http, headers, ["a", "never-existed"])
    again = await _delete(http, headers, ["a", "never-existed"])

    assert (first.status_code, again.status_code) == (202, 202)
    assert list(sandbox.products) == ["b"]


async def test_list_pages_by_cursor_in_id_order(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    ids = [f"sku-{n:03d}" for n in range(25)]
    sandbox.seed({"id": i, "brand": "Acme"} for i in reversed(ids))
    headers = await _auth(http)

    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        response = await http.get("/api/products", params=params, headers=headers)
        assert response.status_code == 200
        assert spec.problems("ListProductsResponse", response.json()) == []
        pages.append(response.json())
        if "next_page_token" not in pages[-1]:
            break
        params = {"limit": 10, "page_token": pages[-1]["next_page_token"]}

    assert [len(p["data"]) for p in pages] == [10, 10, 5]
    assert [p["id"] for page in pages for p in page["data"]] == ids
    assert "previous_page_token" not in pages[0]
    back = await http.get(
        "/api/products",
        params={"limit": 10, "page_token": pages[2]["previous_page_token"]},
        headers=headers,
    )
    assert [p["id"] for p in back.json()["data"]] == ids[10:20]
    everything = await http.get("/api/products", headers=headers)
    assert len(everything.json()["data"]) == 25
    assert "next_page_token" not in everything.json()


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"page_token": "not-a-token"}],
)
async def test_list_refuses_bad_limits_and_tokens(
    http: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    headers = await _auth(http)
    response = await http.get("/api/products", params=params, headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert response.json()["errors"][0]["field"] in ("limit", "page_token")


def _valid(n: int = 1) -> list[dict[str, Any]]:
    return [{"id": f"p{i}", "quantities": [{"available_quantity": 1}]} for i in range(n)]


@pytest.mark.parametrize(
    ("products", "field"),
    [
        (_valid(1001), "products"),
        ([], "products"),
        ([*_valid(2), {"id": "x", "gtins": [{"value": "1234567"}]}], "products[2].gtins[0].value"),
        ([{"id": "x", "gtins": [{"value": "12345678901"}]}], "products[0].gtins[0].value"),
        ([{"id": ""}], "products[0].id"),
        ([{"id": "x" * 257}], "products[0].id"),
        ([{"brand": "no id"}], "products[0].id"),
        ([{"id": "x", "images": [{"url": "ftp://host/a.png"}]}], "products[0].images[0].url"),
        ([{"id": "x", "images": [{"url": "https://h/i.png"}] * 16}], "products[0].images"),
        (
            [{"id": "x", "titles": [{"locale": "en", "value": "t" * 256}]}],
            "products[0].titles[0].value",
        ),
        (
            [{"id": "x", "descriptions": [{"locale": "en", "value": "d" * 6001}]}],
            "products[0].descriptions[0].value",
        ),
        (
            [{"id": "x", "quantities": [{"available_quantity": -1}]}],
            "products[0].quantities[0].available_quantity",
        ),
        (
            [{"id": "x", "quantities": [{"available_quantity": 1.5}]}],
            "products[0].quantities[0].available_quantity",
        ),
        ([{"id": "x", "quantities": [{"available_quantity": 1}] * 21}], "products[0].quantities"),
        ([{"id": "x", "quantities": []}], "products[0].quantities"),
        (
            [{"id": "x", "standard_prices": [{"price": {"amount": -1, "currency": "EUR"}}]}],
            "products[0].standard_prices[0].price.amount",
        ),
        (
            [{"id": "x", "standard_prices": [{"price": {"amount": 1}}]}],
            "products[0].standard_prices[0].price.currency",
        ),
        ([{"id": "x", "gtins": None}], "products[0].gtins"),
        ([{"id": "x", "quantity": 3}], "products[0].quantity"),
        (
            [{"id": "x", "attributes": [{"id": "a", "name": "A", "type": "BOOLEAN", "value": 1}]}],
            "products[0].attributes[0].value",
        ),
    ],
)
async def test_upsert_enforces_the_specs_limits_and_rejects_the_whole_call(
    sandbox: MiraklSandbox, http: httpx.AsyncClient, products: list[Any], field: str
) -> None:
    headers = await _auth(http)
    response = await _upsert(http, headers, products)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    assert field in [e["field"] for e in body["errors"]]
    assert sandbox.products == {}
    assert sandbox.calls[-1].status == 400


@pytest.mark.parametrize("ids", [[], [f"p{i}" for i in range(1001)], [""], ["x" * 257]])
async def test_delete_enforces_the_specs_limits(http: httpx.AsyncClient, ids: list[str]) -> None:
    headers = await _auth(http)
    response = await _delete(http, headers, ids)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


async def test_a_body_that_is_not_json_is_invalid_input(http: httpx.AsyncClient) -> None:
    headers = {**await _auth(http), "Content-Type": "application/json"}
    response = await http.post("/api/products", content=b"{not json", headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


# pacing -------------------------------------------------------------------------------------


async def test_each_operation_is_paced_on_its_own_with_retry_after(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    sandbox.interval = 30
    headers = await _auth(http)

    first = await http.get("/api/products", headers=headers)
    too_soon = await http.get("/api/products", headers=headers)
    other_operation = await _upsert(http, headers, _valid())
    delete = await _delete(http, headers, ["p0"])
    delete_too_soon = await _delete(http, headers, ["p0"])

    assert first.status_code == 200
    assert too_soon.status_code == 429
    assert too_soon.json()["code"] == "TOO_MANY_REQUEST"
    assert 29 <= int(too_soon.headers["retry-after"]) <= 30
    assert (other_operation.status_code, delete.status_code) == (202, 202)
    assert delete_too_soon.status_code == 429
    assert [(c.operation, c.status, c.items) for c in sandbox.calls[1:]] == [
        ("list", 200, 0),
        ("list", 429, 0),
        ("upsert", 202, 1),
        ("delete", 202, 1),
        ("delete", 429, 0),
    ]
    sandbox.interval = 0
    assert (await http.get("/api/products", headers=headers)).status_code == 200


async def test_pacing_is_per_client() -> None:
    clients = {"one": "secret-number-one", "two": "secret-number-two"}
    sandbox = MiraklSandbox(clients=clients, interval=30)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        statuses = []
        for client_id, secret in clients.items():
            form = {"grant_type": "client_credentials", "client_id": client_id}
            token = (await http.post("/oauth/token", data={**form, "client_secret": secret})).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            statuses.append((await http.get("/api/products", headers=headers)).status_code)

    assert statuses == [200, 200]
    assert {c.client_id for c in sandbox.calls_of("list")} == {"one", "two"}


async def test_a_rejected_call_still_takes_its_slot(
    sandbox: MiraklSandbox, http: httpx.AsyncClient
) -> None:
    sandbox.interval = 30
    headers = await _auth(http)

    invalid = await _upsert(http, headers, [{"id": ""}])
    valid = await _upsert(http, headers, _valid())

    assert (invalid.status_code, valid.status_code) == (400, 429)
    assert [c.accepted for c in sandbox.calls_of("upsert")] == [True, False]


# odds and ends ------------------------------------------------------------------------------


async def test_faults_answer_503_before_the_api_sees_the_call() -> None:
    sandbox = MiraklSandbox(interval=0, faults=Faults(error_rate=1.0))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        response = await _token(http)

    assert response.status_code == 503
    assert sandbox.calls == []


async def test_unknown_paths_answer_json(http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/nothing-here")
    wrong_method = await http.get("/oauth/token")

    assert (missing.status_code, missing.json()["code"]) == (404, "DATA_NOT_FOUND")
    assert wrong_method.status_code == 405
    assert "code" in wrong_method.json()


def test_urls_for_a_served_sandbox() -> None:
    assert MiraklSandbox.urls("http://127.0.0.1:8001/") == {
        "auth_url": "http://127.0.0.1:8001/oauth/token",
        "api_url": "http://127.0.0.1:8001/api",
    }


async def test_the_echo_mode_answers_400_with_the_raw_form() -> None:
    """A proxy or WAF in front of the token endpoint: the posted form comes back in `error`."""
    sandbox = MiraklSandbox(interval=0, echo_token_form=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=BASE
    ) as http:
        response = await _token(http)
        sandbox.echo_token_form = False
        normal = await _token(http)
    assert response.status_code == 400
    body = response.json()
    assert f"client_secret={DEMO_CLIENT_SECRET}" in body["error"]
    assert "grant_type=client_credentials" in body["error"]
    assert [c.status for c in sandbox.calls_of("token")] == [400, 200]
    assert normal.status_code == 200 and "access_token" in normal.json()
