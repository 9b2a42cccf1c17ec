"""A local Mirakl Connect: the OAuth token endpoint and the three `/products` operations.

It follows `shared/specs/mirakl-connect-openapi.yaml` (limits, PATCH-like upsert, idempotent
delete, seek pagination) and the spec's "Call Frequency" (each operation at most once per
`interval`, answered by 429 + `Retry-After`). Limits are checked by hand: the sandbox extra is
only starlette + uvicorn, no jsonschema at runtime.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from connector.sandbox.faults import FaultMiddleware, Faults

DEMO_CLIENT_ID = "mirakl-woo-demo"
DEMO_CLIENT_SECRET = "demo-secret-4Tq9mX2vLw7c"
DEMO_COMPANY_ID = "7c1e4b9a-3f2d-4e8b-9a61-5d0c2f8e4b17"

TOKEN_PATH = "/oauth/token"
API_PREFIX = "/api"
PACED_OPERATIONS = ("list", "upsert", "delete")
MAX_ITEMS = 1000
MAX_REPORTED_ERRORS = 50

Errors = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call the sandbox answered: `operation` is token, list, upsert or delete."""

    operation: str
    at: float
    status: int
    items: int = 0
    client_id: str | None = None

    @property
    def accepted(self) -> bool:
        """The call took the operation's slot: it passed authentication and the rate limit
        (whatever came next, a 400 included), so the next one is measured from it."""
        return self.status not in (401, 403, 429)


@dataclass(frozen=True, slots=True)
class _Grant:
    client_id: str
    company_id: str
    expires_at: float


class _Invalid(Exception):
    """The request breaks one of the spec's limits; the whole call is refused."""

    def __init__(self, message: str, errors: Errors) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class MiraklSandbox:
    """Mirakl Connect's token endpoint and seller `/products` API, in memory, as an ASGI app.

    `app` serves `POST /oauth/token` and `GET|POST|DELETE /api/products`; point the client's
    auth URL at `<base>/oauth/token` and its API URL at `<base>/api` (see `urls`).
    `calls` logs every answered call so tests can check pacing from the server's side.
    """

    def __init__(
        self,
        *,
        clients: dict[str, str] | None = None,
        audiences: dict[str, str] | None = None,
        interval: float = 60.0,
        token_ttl: int = 3599,
        faults: Faults | None = None,
        company_name: str = "Demo Seller Co.",
        echo_token_form: bool = False,
    ) -> None:
        if clients is None:
            clients = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self.clients = dict(clients)
        self.audiences = dict(audiences or {})
        self.interval = interval
        self.token_ttl = token_ttl
        self.faults = faults
        self.company_name = company_name
        #: Play a proxy or WAF in front of the token endpoint that answers 400 with the raw
        #: posted form (the client secret in it) in `error`. Read on every request.
        self.echo_token_form = echo_token_form
        self.products: dict[str, dict[str, Any]] = {}
        self.calls: list[CallRecord] = []
        self._tokens: dict[str, _Grant] = {}
        self._last_accepted: dict[tuple[str, str], float] = {}
        self._signing_key = secrets.token_bytes(32)
        self._sorted_ids: list[str] | None = None
        inner = Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(f"{API_PREFIX}/products", self._products, methods=["GET", "POST", "DELETE"]),
            ],
            exception_handlers={HTTPException: _http_error},
        )
        self.app: ASGIApp = FaultMiddleware(inner, faults) if faults is not None else inner

    @staticmethod
    def urls(base_url: str) -> dict[str, str]:
        """The two URLs a client needs when this sandbox is served at `base_url`."""
        base = base_url.rstrip("/")
        return {"auth_url": f"{base}{TOKEN_PATH}", "api_url": f"{base}{API_PREFIX}"}

    def company_of(self, client_id: str) -> str:
        return self.audiences.get(client_id, DEMO_COMPANY_ID)

    def seed(self, products: Iterable[dict[str, Any]]) -> None:
        """Put products in the catalog directly, as if the seller had created them elsewhere."""
        for product in products:
            self.products[str(product["id"])] = copy.deepcopy(product)
        self._sorted_ids = None

    def revoke_tokens(self) -> None:
        """Forget every access token issued so far: the next API call answers 401."""
        self._tokens.clear()

    def calls_of(self, operation: str) -> list[CallRecord]:
        return [c for c in self.calls if c.operation == operation]

    # token ------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        arrived = time.time()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return self._oauth_error(
                arrived, None, 400, "invalid_request", "Send an x-www-form-urlencoded form."
            )
        body = (await request.body()).decode("utf-8", "replace")
        if self.echo_token_form:
            self._record("token", arrived, 400, 0, None)
            return JSONResponse(
                {"error": body, "error_description": "Bad Request", "status": 400},
                status_code=400,
            )
        form = dict(parse_qsl(body, keep_blank_values=True))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            client_id, client_secret = basic
        refuse = partial(self._oauth_error, arrived, client_id)
        grant_type = form.get("grant_type")
        if not grant_type:
            return refuse(400, "invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            return refuse(400, "unsupported_grant_type", "Only client_credentials is supported.")
        expected = self.clients.get(client_id or "")
        if (
            not client_id
            or not client_secret
            or expected is None
            or not hmac.compare_digest(expected.encode(), client_secret.encode())
        ):
            return refuse(401, "invalid_client", "Client authentication failed.")
        company_id = self.company_of(client_id)
        audience = form.get("audience")
        if client_id in self.audiences and not audience:
            return refuse(403, "access_denied", "This client must name its company as audience.")
        if audience and audience != company_id:
            return refuse(403, "access_denied", "The audience is not this client's company.")
        token = self._issue(client_id, company_id, arrived)
        self._record("token", arrived, 200, 0, client_id)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _issue(self, client_id: str, company_id: str, now: float) -> str:
        """A JWT-shaped token (HS256 with a key only this sandbox knows)."""
        expires_at = now + self.token_ttl
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {
            "iss": "mirakl-woo-sandbox",
            "sub": client_id,
            "aud": company_id,
            "company_id": company_id,
            "company_name": self.company_name,
            "iat": int(now),
            "exp": int(math.ceil(expires_at)),
            "jti": secrets.token_hex(8),
        }
        signing_input = f"{_b64(_compact(header))}.{_b64(_compact(payload))}"
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        self._tokens[token] = _Grant(client_id, company_id, expires_at)
        return token

    def _oauth_error(
        self, arrived: float, client_id: str | None, status: int, error: str, description: str
    ) -> Response:
        """RFC 6749 section 5.2 error answer."""
        self._record("token", arrived, status, 0, client_id)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="mirakl-woo-sandbox"'
        return JSONResponse(
            {"error": error, "error_description": description}, status_code=status, headers=headers
        )

    # products ---------------------------------------------------------------------------

    async def _products(self, request: Request) -> Response:
        arrived = time.time()
        operation = {"GET": "list", "POST": "upsert", "DELETE": "delete"}[request.method]
        grant = self._bearer(request, arrived)
        if grant is None:
            self._record(operation, arrived, 401, 0, None)
            return _error(
                401,
                "UNAUTHORIZED",
                "A valid Bearer access token is required.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        key = (grant.client_id, operation)
        last = self._last_accepted.get(key)
        if last is not None and arrived - last < self.interval:
            retry_after = max(1, math.ceil(self.interval - (arrived - last)))
            self._record(operation, arrived, 429, 0, grant.client_id)
            return _error(
                429,
                "TOO_MANY_REQUEST",
                f"This operation may be called once every {self.interval:g} seconds.",
                headers={"Retry-After": str(retry_after)},
            )
        self._last_accepted[key] = arrived
        items = 0
        try:
            if operation == "list":
                body = self._list(request)
                items = len(body["data"])
                response: Response = JSONResponse(body)
            else:
                payload = await _json_body(request)
                entries = payload.get("products") if isinstance(payload, dict) else None
                items = len(entries) if isinstance(entries, list) else 0
                if operation == "upsert":
                    self._upsert(payload)
                else:
                    self._delete(payload)
                response = Response(status_code=202)
        except _Invalid as exc:
            self._record(operation, arrived, 400, items, grant.client_id)
            errors = exc.errors[:MAX_REPORTED_ERRORS]
            return _error(400, "INVALID_INPUT", exc.message, errors=errors)
        self._record(operation, arrived, response.status_code, items, grant.client_id)
        return response

    def _bearer(self, request: Request, now: float) -> _Grant | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        grant = self._tokens.get(token.strip())
        if grant is None or now >= grant.expires_at:
            return None
        return grant

    def _list(self, request: Request) -> dict[str, Any]:
        params = request.query_params
        raw_limit = params.get("limit", str(MAX_ITEMS))
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_ITEMS:
            problem = {"field": "limit", "message": "Must be an integer from 1 to 1000."}
            raise _Invalid("Invalid limit.", [problem])
        ids = self._ids()
        token = params.get("page_token")
        if token:
            direction, cursor = _decode_cursor(token)
            if direction == "after":
                start = bisect_right(ids, cursor)
                end = min(len(ids), start + limit)
            else:
                end = bisect_left(ids, cursor)
                start = max(0, end - limit)
        else:
            start, end = 0, min(len(ids), limit)
        page = ids[start:end]
        body: dict[str, Any] = {"data": [self.products[i] for i in page]}
        if page and end < len(ids):
            body["next_page_token"] = _encode_cursor("after", page[-1])
        if page and start > 0:
            body["previous_page_token"] = _encode_cursor("before", page[0])
        return body

    def _upsert(self, payload: Any) -> None:
        products = _envelope(payload)
        errors: Errors = []
        for index, product in enumerate(products):
            _check_product(product, f"products[{index}]", errors)
        if errors:
            raise _Invalid("Some products break the schema; none was saved.", errors)
        for product in products:
            current = self.products.setdefault(product["id"], {"id": product["id"]})
            for field, value in product.items():
                if value is None:
                    current.pop(field, None)  # an explicit null removes the field
                else:
                    current[field] = copy.deepcopy(value)
        self._sorted_ids = None

    def _delete(self, payload: Any) -> None:
        identifiers = _envelope(payload)
        errors: Errors = []
        for index, entry in enumerate(identifiers):
            path = f"products[{index}]"
            if _object(entry, path, errors, ("id",)) and "id" in entry:
                _string(entry["id"], f"{path}.id", errors, min_len=1, max_len=256)
        if errors:
            raise _Invalid("Some product identifiers are invalid; nothing was deleted.", errors)
        for entry in identifiers:
            self.products.pop(entry["id"], None)  # unknown ids are not an error
        self._sorted_ids = None

    def _ids(self) -> list[str]:
        if self._sorted_ids is None:
            self._sorted_ids = sorted(self.products)
        return self._sorted_ids

    def _record(
        self, operation: str, at: float, status: int, items: int, client_id: str | None
    ) -> None:
        self.calls.append(CallRecord(operation, at, status, items, client_id))


# helpers ----------------------------------------------------------------------------------


def _error(
    status: int,
    code: str,
    message: str,
    *,
    errors: Errors | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The spec's `Error` body: `{"code","message","errors":[{"field","message"}]}`."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    code = {404: "DATA_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "UNEXPECTED")
    return _error(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Invalid(
            "The body is not valid JSON.", [{"field": "body", "message": "Send a JSON object."}]
        ) from None


def _envelope(payload: Any) -> list[Any]:
    """`{"products": [...]}` with 1..1000 entries."""
    if not isinstance(payload, dict) or not isinstance(payload.get("products"), list):
        raise _Invalid(
            "The body must be an object with a products array.",
            [{"field": "products", "message": "Required array."}],
        )
    products = payload["products"]
    if not 1 <= len(products) <= MAX_ITEMS:
        raise _Invalid(
            f"Send 1 to {MAX_ITEMS} products per call, not {len(products)}.",
            [{"field": "products", "message": f"Must hold 1 to {MAX_ITEMS} items."}],
        )
    return products


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 section 2.3.1): form-urlencoded id and secret."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (unquote(client_id), unquote(client_secret)) if sep else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _encode_cursor(direction: str, product_id: str) -> str:
    return _b64(_compact({direction: product_id}))


def _decode_cursor(token: str) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ((direction, cursor),) = data.items()
    except (ValueError, TypeError, AttributeError, binascii.Error):
        direction, cursor = "", None
    if direction not in ("after", "before") or not isinstance(cursor, str):
        raise _Invalid(
            "Invalid page token.",
            [{"field": "page_token", "message": "Use a token from a previous page."}],
        )
    return direction, cursor


# the spec's limits, by hand ---------------------------------------------------------------

_GTIN = re.compile(r"[0-9]{8}|[0-9]{12,13}")
_IMAGE_URL = re.compile(r"(http|https)://.*")
_ATTRIBUTE_TYPES = ("STRING", "NUMERIC", "BOOLEAN")
_NULLABLE = frozenset(
    {"attributes", "brand", "category", "descriptions", "discount_prices", "images", "titles"}
)

Check = Callable[[Any, str, Errors], None]


def _fail(errors: Errors, field: str, message: str) -> None:
    errors.append({"field": field, "message": message})


def _object(value: Any, path: str, errors: Errors, required: tuple[str, ...] = ()) -> bool:
    if not isinstance(value, dict):
        _fail(errors, path, "Must be an object.")
        return False
    for name in required:
        if name not in value:
            _fail(errors, f"{path}.{name}", "Required.")
    return True


def _string(
    value: Any,
    path: str,
    errors: Errors,
    *,
    min_len: int = 0,
    max_len: int | None = None,
    nullable: bool = False,
    pattern: re.Pattern[str] | None = None,
    pattern_message: str = "Has the wrong format.",
) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str):
        _fail(errors, path, "Must be a string.")
    elif len(value) < min_len:
        _fail(errors, path, f"Must hold at least {min_len} character(s).")
    elif max_len is not None and len(value) > max_len:
        _fail(errors, path, f"Must hold at most {max_len} characters.")
    elif pattern is not None and not pattern.fullmatch(value):
        _fail(errors, path, pattern_message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(
    value: Any, path: str, errors: Errors, *, low: float, high: float | None = None
) -> None:
    if not _is_number(value):
        _fail(errors, path, "Must be a number.")
    elif value < low or (high is not None and value > high):
        bound = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
        _fail(errors, path, f"Must be {bound}.")


def _quantity_value(value: Any, path: str, errors: Errors) -> None:
    if not _is_number(value) or float(value) != int(value):
        _fail(errors, path, "Must be an integer.")
    else:
        _number(value, path, errors, low=0, high=1_000_000_000)


def _array(
    value: Any, path: str, errors: Errors, *, item: Check, max_items: int, min_items: int = 0
) -> None:
    if not isinstance(value, list):
        _fail(errors, path, "Must be an array.")
        return
    if len(value) < min_items:
        _fail(errors, path, f"Must hold at least {min_items} item(s).")
    if len(value) > max_items:
        _fail(errors, path, f"Must hold at most {max_items} items.")
    for index, entry in enumerate(value):
        item(entry, f"{path}[{index}]", errors)


def _gtin(value: Any, path: str, errors: Errors) -> None:
    if _object(value, path, errors, ("value",)) and "value" in value:
        _string(
            value["value"],
            f"{path}.value",
            errors,
            pattern=_GTIN,
            pattern_message="A GTIN has 8, 12 or 13 digits.",
        )


def _image(value: Any, path: str, errors: Errors) -> None:
    if _object(value, path, errors, ("url",)) and "url" in value:
        _string(
            value["url"],
            f"{path}.url",
            errors,
            pattern=_IMAGE_URL,
            pattern_message="Must be an http:// or https:// URL.",
        )


def _localized(value: Any, path: str, errors: Errors, *, max_len: int) -> None:
    if _object(value, path, errors, ("locale", "value")):
        if "locale" in value:
            _string(value["locale"], f"{path}.locale", errors)
        if "value" in value:
            _string(value["value"], f"{path}.value", errors, max_len=max_len)


def _money(value: Any, path: str, errors: Errors) -> None:
    if _object(value, path, errors, ("amount", "currency")):
        if "amount" in value:
            _number(value["amount"], f"{path}.amount", errors, low=0)
        if "currency" in value:
            _string(value["currency"], f"{path}.currency", errors, min_len=1)


def _date(value: Any, path: str, errors: Errors) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        _fail(errors, path, "Must be a date-time string or null.")
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        _fail(errors, path, "Must be an ISO 8601 date-time (UTC), e.g. 2025-02-19T16:46:00Z.")


def _price(value: Any, path: str, errors: Errors, *, dated: bool) -> None:
    if not _object(value, path, errors, ("price",)):
        return
    if "price" in value:
        _money(value["price"], f"{path}.price", errors)
    if "scope" in value:
        _string(value["scope"], f"{path}.scope", errors, max_len=255, nullable=True)
    if dated:
        for name in ("start_date", "end_date"):
            if name in value:
                _date(value[name], f"{path}.{name}", errors)


def _quantity(value: Any, path: str, errors: Errors, *, owner: str | None) -> None:
    required = ("available_quantity", owner) if owner else ("available_quantity",)
    if not _object(value, path, errors, required):
        return
    if "available_quantity" in value:
        _quantity_value(value["available_quantity"], f"{path}.available_quantity", errors)
    if "warehouse_code" in value:
        _string(value["warehouse_code"], f"{path}.warehouse_code", errors, min_len=1)
    if owner and owner in value:
        _string(value[owner], f"{path}.{owner}", errors)


def _category(value: Any, path: str, errors: Errors) -> None:
    if not _object(value, path, errors, ("labels",)):
        return
    if "id" in value:
        _string(value["id"], f"{path}.id", errors, min_len=1, max_len=255, nullable=True)
    if "labels" in value:
        _array(
            value["labels"],
            f"{path}.labels",
            errors,
            item=partial(_localized, max_len=255),
            max_items=10_000,
        )


def _attribute(value: Any, path: str, errors: Errors) -> None:
    if not _object(value, path, errors, ("id", "name", "type", "value")):
        return
    for name in ("id", "name"):
        if name in value:
            _string(value[name], f"{path}.{name}", errors, min_len=1, max_len=255)
    kind = value.get("type")
    if "type" in value and kind not in _ATTRIBUTE_TYPES:
        _fail(errors, f"{path}.type", "Must be STRING, NUMERIC or BOOLEAN.")
        return
    if "value" not in value:
        return
    attribute_value = value["value"]
    if kind == "STRING":
        _string(attribute_value, f"{path}.value", errors, max_len=2000)
    elif kind == "NUMERIC":
        _number(attribute_value, f"{path}.value", errors, low=-1e9, high=1e9)
    elif kind == "BOOLEAN" and not isinstance(attribute_value, bool):
        _fail(errors, f"{path}.value", "Must be true or false.")


_PRODUCT_FIELDS: dict[str, Check] = {
    "attributes": partial(_array, item=_attribute, max_items=1000),
    "brand": partial(_string, max_len=255),
    "category": _category,
    "descriptions": partial(_array, item=partial(_localized, max_len=6000), max_items=10),
    "discount_prices": partial(_array, item=partial(_price, dated=True), max_items=10),
    "gtins": partial(_array, item=_gtin, max_items=10),
    "id": partial(_string, min_len=1, max_len=256),
    "images": partial(_array, item=_image, max_items=15),
    "partner_quantities": partial(
        _array, item=partial(_quantity, owner="partner_id"), min_items=1, max_items=20
    ),
    "quantities": partial(_array, item=partial(_quantity, owner=None), min_items=1, max_items=20),
    "standard_prices": partial(
        _array, item=partial(_price, dated=False), min_items=1, max_items=10
    ),
    "titles": partial(_array, item=partial(_localized, max_len=255), max_items=10),
}


def _check_product(product: Any, path: str, errors: Errors) -> None:
    if not _object(product, path, errors, ("id",)):
        return
    for field, value in product.items():
        check = _PRODUCT_FIELDS.get(field)
        if check is None:
            _fail(errors, f"{path}.{field}", "Unknown field.")
        elif value is None:
            if field not in _NULLABLE:
                _fail(errors, f"{path}.{field}", "Cannot be null.")
        else:
            check(value, f"{path}.{field}", errors)
