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

    .venv/bin/python benchmarks/woo_read.py [--products 20000] [--concurrency 8] [--latency 0]
        [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from _common import PYTHON, SandboxProcess, emit, note, process_cpu

from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.secret import Secret


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


def serve(products: int, latency: float) -> None:
    """The store for this benchmark (run in its own process by `main`)."""
    from connector.sandbox.faults import Faults
    from connector.sandbox.server import SandboxServers

    faults = Faults(latency=latency) if latency > 0 else None
    servers = SandboxServers(catalog_size=products, interval=60.0, woo_faults=faults)
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


async def read_ours(url: str, concurrency: int) -> dict[str, int]:
    from connector.clients.woocommerce import WooClient

    counts = {"products": 0, "variations": 0, "pages": 0, "requests": 0}
    async with WooClient(
        url=url, consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET), concurrency=concurrency,
    ) as woo:
        async for page in woo.iter_product_pages(status="any"):
            counts["pages"] += 1
            counts["products"] += len(page)
            variable = [p["id"] for p in page if p.get("type") == "variable"]
            counts["requests"] += 1 + len(variable)  # no product has over 100 variations
            for variations in await asyncio.gather(*(woo.list_variations(i) for i in variable)):
                counts["variations"] += len(variations)
    return counts


def read_official(url: str) -> dict[str, int]:
    from woocommerce import API

    api = API(url=url, consumer_key=DEMO_CONSUMER_KEY, consumer_secret=DEMO_CONSUMER_SECRET,
              version="wc/v3", timeout=30)

    def get(endpoint: str, page: int) -> tuple[list[dict[str, Any]], int]:
        response = api.get(endpoint, params={"per_page": 100, "page": page, **PARAMS})
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
            if product.get("type") != "variable":
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
        self.client = time.process_time()
        self.wall = time.perf_counter()

    def done(self) -> dict[str, float]:
        return {
            "wall": round(time.perf_counter() - self.wall, 3),
            "client": round(time.process_time() - self.client, 3),
            "server": round(process_cpu(self.server_pid) - self.server, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000,
                        help="catalog size of the sandbox store (default 20000)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="requests in flight for our client (default 4, its default)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="the store answers each request this much later, concurrently, "
                             "like a real PHP host (default 0: the bare sandbox)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 products")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.products = 500
    if args.serve:
        serve(args.products, args.latency)
        return

    # both clients imported before anything is timed
    import woocommerce  # noqa: F401

    import connector.clients.woocommerce  # noqa: F401

    command = [PYTHON, __file__, "--serve", "--products", str(args.products),
               "--latency", repr(args.latency)]
    with SandboxProcess(args.products, 60.0, command=command) as sandbox:
        assert sandbox.endpoints is not None
        url = sandbox.endpoints.woo_url
        assert sandbox.process is not None
        server = sandbox.process.pid
        note(f"store {url}: {args.products} products; our client …")
        cpu = Cpu(server)
        ours = asyncio.run(read_ours(url, args.concurrency))
        ours_cpu = cpu.done()
        note(f"ours {ours_cpu['wall']:.2f} s; the official client …")
        cpu = Cpu(server)
        official = read_official(url)
        official_cpu = cpu.done()
        note(f"official {official_cpu['wall']:.2f} s")
    if ours != official:
        raise SystemExit(f"the two clients read different things: {ours} vs {official}")
    emit({
        "benchmark": "woo_read",
        "products": ours["products"],
        "variations": ours["variations"],
        "pages": ours["pages"],
        "concurrency": args.concurrency,
        "latency": args.latency,
        "ours_seconds": ours_cpu["wall"],
        "official_seconds": official_cpu["wall"],
        "ratio": round(official_cpu["wall"] / ours_cpu["wall"], 2),
        "requests": ours["requests"],
        # where the time went: CPU of the reading process and of the store's process
        "ours_cpu": {"client": ours_cpu["client"], "server": ours_cpu["server"]},
        "official_cpu": {"client": official_cpu["client"], "server": official_cpu["server"]},
        "target": "ratio >= 5",
    })


if __name__ == "__main__":
    main()
