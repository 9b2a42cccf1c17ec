"""Sync pacing: one full sync pass of a catalog through the sandboxes on loopback.

The Mirakl Connect sandbox runs in a thread of this process (its call log is where the 429s
and the items per call are read); the sync runs as `python -m connector.cli sync --json` in its
own process. Wall time is the pass's own `seconds` (from the start of the pass to its end,
measured by the sync service); the process's wall time, start-up included, is printed beside
it. Call times are given from the pass's "Sync started." line, stamped as it arrives.

`--store process` (default) serves the WooCommerce store from its own process
(`mirakl-woo sandbox`), as a real store is another machine than Mirakl Connect;
`--store thread` serves it from the same thread and event loop as the Mirakl sandbox
(`SandboxServers` as is), where building a product page holds up Mirakl's clock.

    .venv/bin/python benchmarks/sync_pacing.py [--products 20000] [--interval 1]
        [--store process|thread] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

from _common import (
    Endpoints,
    SandboxProcess,
    cli_stamped,
    connect_both,
    emit,
    endpoints_of,
    note,
    temp_home,
)

from connector.sandbox.server import SandboxServers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000,
                        help="WooCommerce catalog size (default 20000)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two calls of one Mirakl operation (default 1)")
    parser.add_argument("--store", choices=("process", "thread"), default="process",
                        help="where the WooCommerce sandbox runs (default: its own process)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2000 products, interval 0.2 s")
    args = parser.parse_args()
    if args.quick:
        args.products, args.interval = 2_000, 0.2

    note(f"sandbox: {args.products} products, interval {args.interval:g} s, "
         f"store in a {args.store}")
    with contextlib.ExitStack() as stack:
        servers = SandboxServers(
            catalog_size=args.products if args.store == "thread" else 1, interval=args.interval
        ).start()
        stack.callback(servers.stop)
        endpoints = endpoints_of(servers)
        if args.store == "process":
            store = stack.enter_context(SandboxProcess(args.products, args.interval))
            assert store.endpoints is not None
            endpoints = Endpoints(endpoints.auth_url, endpoints.api_url,
                                  store.endpoints.woo_url, args.interval)
        home = stack.enter_context(temp_home("sync"))
        connect_both(endpoints, home)
        time.sleep(args.interval)  # no slot left over from `connect` (a different op anyway)
        first = len(servers.mirakl.calls)
        note("sync --json …")
        started = time.monotonic()
        output, lines = cli_stamped(endpoints, home, "sync", "--json")
        process_wall = time.monotonic() - started
        report = json.loads(output)
        calls = servers.mirakl.calls[first:]

    upserts = [c for c in calls if c.operation == "upsert" and c.accepted]
    items = [c.items for c in upserts]
    times = [c.at for c in upserts]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    n_calls = len(upserts)
    wall = float(report["seconds"])
    # The pass's start: its "Sync started." line, stamped on arrival (same clock as the
    # sandbox's call log; a pipe adds well under a millisecond).
    pass_start = next((t for t, line in lines if line.startswith("Sync started")), lines[0][0])
    rejected = [c for c in calls if c.status == 429]
    floor = max(0, n_calls - 1) * args.interval
    emit({
        "benchmark": "sync_pacing",
        "products": args.products,
        "store": args.store,
        "interval": args.interval,
        "items_pushed": report["pushed"] + report["set_to_0"],
        "skipped": report["skipped"],
        "calls": n_calls,
        "calls_reported_by_sync": report["calls"],
        "items_per_call": items,
        "wall_seconds": round(wall, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(wall / floor, 4) if floor else None,
        "http_429": len(rejected),
        "all_full_but_last": all(n == 1000 for n in items[:-1]),
        "process_wall_seconds": round(process_wall, 3),
        "gap_seconds": {
            "min": round(min(gaps), 4), "mean": round(statistics.fmean(gaps), 4),
            "max": round(max(gaps), 4),
        } if gaps else None,
        "first_to_last_call_seconds": round(times[-1] - times[0], 3) if times else None,
        # seconds from the start of the pass: where the slack is
        "first_call_after_seconds": round(times[0] - pass_start, 2) if times else None,
        "http_429_at_seconds": [round(c.at - pass_start, 2) for c in rejected],
        # how soon after the previous accepted upsert each refused one arrived (< interval)
        "http_429_after_previous_seconds": [
            round(c.at - max(t for t in times if t <= c.at), 4)
            for c in rejected if c.operation == "upsert" and any(t <= c.at for t in times)
        ],
        "last_call_to_end_seconds": round(pass_start + wall - times[-1], 2) if times else None,
        "target": "ratio <= 1.05, every call but the last 1000 items, 0 x 429",
    })


if __name__ == "__main__":
    main()
