"""WooCommerce read: the whole sandbox catalog read by our `WooClient` and by the official
`woocommerce` package (`woocommerce.API`), against the same server, in the same run.

Both read the same pages: products `per_page=100` page by page (status any, id order), and the
variations of every variable product (all their pages), JSON-decoded. Ours reads the way the
sync does (`iter_product_pages`, then `list_variations` of a page's variable products
gathered); the official client, being synchronous, one request after another. Both sign
OAuth 1.0a over http:// themselves.

The store runs in its own process (this script with `--serve`), so neither client shares
its CPU with the server. It is the WooCommerce sandbox behind a thin layer that reads the query
string the way PHP fills `$_GET` (a repeated key: the last one wins): the official client sends
its query parameters twice (in the signed URL and again through `requests`' `params`), which a
real WooCommerce tolerates and the sandbox's raw signature check does not.

Two models of the store (`--store-model`): `latency`, each request answered `--latency` s later
(a sleep: requests overlap freely), and `cpu`, each request burning `--cpu-per-request` s of
CPU plus `--cpu-per-item` s per product or variation rendered (scaled by the share of its fields
asked for, as WooCommerce computes only the `_fields` asked) in a pool of `--workers` processes,
beyond which requests queue: a PHP-FPM store. The defaults follow what a real store measured
(WOOCOMMERCE-FACTS: ~110 ms per request, ~300 ms per page of 100 products, 2 cores).

`--fields on` (the sync's way) asks only for the fields the mapping reads and reads the
variations of variable products whose status is pushed (publish, the default options);
`--fields off` is the way before: every field, every variable product's variations. Both
clients read the same requests either way. `--official off` leaves the official client out.

    .venv/bin/python benchmarks/woo_read.py [--products 20000] [--concurrency 3] [--latency 0]
        [--store-model latency|cpu] [--cpu-per-request 0.1] [--cpu-per-item 0.002]
        [--workers 2] [--fields on|off] [--official on|off] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from _common import PYTHON, SandboxProcess, emit, note, process_cpu, tree_cpu

from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.secret import Secret
from connector.settings import DEFAULT_STORE_CONCURRENCY


class PhpQuery:
    """ASGI layer: a repeated query key keeps its last value, as PHP's `$_GET` does."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            if len({k for k, _ in pairs}) != len(pairs):
                scope = {**scope, "query_string": urlencode(dict(pairs)).encode("latin-1")}
        await self.app(scope, receive, send)


def serve(args: argparse.Namespace) -> None:
    """The store for this benchmark (run in its own process by `main`)."""
    from connector.sandbox.faults import Faults
    from connector.sandbox.php import PhpWorkers
    from connector.sandbox.server import SandboxServers

    faults = Faults(latency=args.latency) if args.latency > 0 else None
    servers = SandboxServers(catalog_size=args.products, interval=60.0, woo_faults=faults)
    if args.store_model == "cpu":
        servers.woo.cpu_per_request = args.cpu_per_request
        servers.woo.cpu_per_item = args.cpu_per_item
        servers.woo.php = PhpWorkers(args.workers)
        servers.woo.php.start()
    servers.woo.app = PhpQuery(servers.woo.app)

    servers.start()
    # the same lines as `mirakl-woo sandbox`, which SandboxProcess reads
    print(f"  Mirakl Connect token URL  {servers.auth_url}")
    print(f"  Mirakl Connect API URL    {servers.api_url}")
    print(f"  WooCommerce store URL     {servers.woo_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


# --- the two readers ------------------------------------------------------------------------

PARAMS = {"status": "any", "orderby": "id", "order": "asc"}


class Reading:
    """What is asked: with `lean`, the sync's fields and only pushed variable products'
    variations (the default options push `publish`); otherwise everything."""

    def __init__(self, lean: bool) -> None:
        from connector.mapping import PRODUCT_FIELDS, VARIATION_FIELDS
        from connector.product_options import ProductOptions

        self.lean = lean
        self.product_fields = PRODUCT_FIELDS if lean else None
        self.variation_fields = VARIATION_FIELDS if lean else None
        self.statuses = ProductOptions().statuses

    def variations_read(self, product: dict[str, Any]) -> bool:
        if product.get("type") != "variable":
            return False
        return not self.lean or str(product.get("status") or "publish") in self.statuses

    @staticmethod
    def params(fields: tuple[str, ...] | None) -> dict[str, str]:
        return {"_fields": ",".join(fields)} if fields else {}


async def read_ours(url: str, concurrency: int, reading: Reading) -> dict[str, int]:
    from connector.clients.woocommerce import WooClient

    counts = {"products": 0, "variations": 0, "pages": 0, "requests": 0}
    async with WooClient(
        url=url, consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET), concurrency=concurrency,
    ) as woo:
        async for page in woo.iter_product_pages(status="any", fields=reading.product_fields):
            counts["pages"] += 1
            counts["products"] += len(page)
            variable = [p["id"] for p in page if reading.variations_read(p)]
            counts["requests"] += 1 + len(variable)  # no product has over 100 variations
            found = await asyncio.gather(
                *(woo.list_variations(i, fields=reading.variation_fields) for i in variable)
            )
            for variations in found:
                counts["variations"] += len(variations)
    return counts


def read_official(url: str, reading: Reading) -> dict[str, int]:
    from woocommerce import API

    api = API(url=url, consumer_key=DEMO_CONSUMER_KEY, consumer_secret=DEMO_CONSUMER_SECRET,
              version="wc/v3", timeout=30)

    def get(endpoint: str, page: int) -> tuple[list[dict[str, Any]], int]:
        fields = reading.variation_fields if "variations" in endpoint else reading.product_fields
        response = api.get(
            endpoint, params={"per_page": 100, "page": page, **PARAMS, **reading.params(fields)}
        )
        response.raise_for_status()
        return response.json(), int(response.headers.get("X-WP-TotalPages", "0"))

    counts = {"products": 0, "variations": 0, "pages": 0, "requests": 0}
    page, total_pages = 1, 1
    while page <= total_pages:
        products, total_pages = get("products", page)
        counts["requests"] += 1
        counts["pages"] += 1
        counts["products"] += len(products)
        for product in products:
            if not reading.variations_read(product):
                continue
            vpage, vpages = 1, 1
            while vpage <= vpages:
                variations, vpages = get(f"products/{product['id']}/variations", vpage)
                counts["requests"] += 1
                counts["variations"] += len(variations)
                vpage += 1
        page += 1
    return counts


class Cpu:
    """Wall time, this process's CPU and the server process's CPU over one read."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.server = process_cpu(server_pid)
        self.store = tree_cpu(server_pid)
        self.client = time.process_time()
        self.wall = time.perf_counter()

    def done(self) -> dict[str, float]:
        return {
            "wall": round(time.perf_counter() - self.wall, 3),
            "client": round(time.process_time() - self.client, 3),
            "server": round(process_cpu(self.server_pid) - self.server, 3),
            # the server process and its children (the PHP-like workers of the cpu model)
            "store": round(tree_cpu(self.server_pid) - self.store, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000,
                        help="catalog size of the sandbox store (default 20000)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_STORE_CONCURRENCY,
                        help="requests in flight for our client (default "
                             f"{DEFAULT_STORE_CONCURRENCY}, the sync's default)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="the store answers each request this much later, concurrently, "
                             "like a real PHP host (default 0: the bare sandbox)")
    parser.add_argument("--store-model", choices=("latency", "cpu"), default="latency",
                        help="latency: each request sleeps --latency; cpu: each request burns "
                             "CPU in a pool of --workers processes (default latency)")
    parser.add_argument("--cpu-per-request", type=float, default=0.1, metavar="SECONDS",
                        help="cpu model: CPU per request (default 0.1)")
    parser.add_argument("--cpu-per-item", type=float, default=0.002, metavar="SECONDS",
                        help="cpu model: CPU per product or variation rendered, all fields "
                             "(default 0.002)")
    parser.add_argument("--workers", type=int, default=2,
                        help="cpu model: PHP workers; more requests in flight queue (default 2)")
    parser.add_argument("--fields", choices=("on", "off"), default="on",
                        help="on: the sync's fields and pushed products' variations only; "
                             "off: everything, as before (default on)")
    parser.add_argument("--official", choices=("on", "off"), default="on",
                        help="also read with the official client (default on)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 products")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.products = 500
    if args.serve:
        serve(args)
        return

    # both clients imported before anything is timed
    if args.official == "on":
        import woocommerce  # noqa: F401

    import connector.clients.woocommerce  # noqa: F401

    command = [PYTHON, __file__, "--serve", "--products", str(args.products),
               "--latency", repr(args.latency), "--store-model", args.store_model,
               "--cpu-per-request", repr(args.cpu_per_request),
               "--cpu-per-item", repr(args.cpu_per_item), "--workers", str(args.workers)]
    reading = Reading(args.fields == "on")
    with SandboxProcess(args.products, 60.0, command=command) as sandbox:
        assert sandbox.endpoints is not None
        url = sandbox.endpoints.woo_url
        assert sandbox.process is not None
        server = sandbox.process.pid
        note(f"store {url}: {args.products} products; our client …")
        cpu = Cpu(server)
        ours = asyncio.run(read_ours(url, args.concurrency, reading))
        ours_cpu = cpu.done()
        note(f"ours {ours_cpu['wall']:.2f} s")
        official: dict[str, int] | None = None
        if args.official == "on":
            note("the official client …")
            cpu = Cpu(server)
            official = read_official(url, reading)
            official_cpu = cpu.done()
            note(f"official {official_cpu['wall']:.2f} s")
    if official is not None and ours != official:
        raise SystemExit(f"the two clients read different things: {ours} vs {official}")
    store_model: dict[str, Any] = {"model": args.store_model, "latency": args.latency}
    if args.store_model == "cpu":
        store_model.update(cpu_per_request=args.cpu_per_request,
                           cpu_per_item=args.cpu_per_item, workers=args.workers)
    figures: dict[str, Any] = {
        "benchmark": "woo_read",
        "store": store_model,
        "fields": args.fields,
        "products": ours["products"],
        "variations": ours["variations"],
        "pages": ours["pages"],
        "requests": ours["requests"],
        "concurrency": args.concurrency,
        "ours_seconds": ours_cpu["wall"],
        # where the time went: CPU of the reading process, of the store's process, and of the
        # store's process with its children (its workers: what a PHP store would spend)
        "ours_cpu": {"client": ours_cpu["client"], "server": ours_cpu["server"],
                     "store": ours_cpu["store"]},
    }
    if official is not None:
        figures.update(
            official_seconds=official_cpu["wall"],
            ratio=round(official_cpu["wall"] / ours_cpu["wall"], 2),
            official_cpu={"client": official_cpu["client"], "server": official_cpu["server"],
                          "store": official_cpu["store"]},
            target="ratio >= 5 (bare sandbox)",
        )
    emit(figures)


if __name__ == "__main__":
    main()
