"""Disconnect pacing: the catalog step of a "Deactivate Products" and of a "Delete Products"
disconnect over a ledger seeded by a real sync, against the sandboxes on loopback.

For each option: fresh sandboxes (a thread of this process, so their call log gives the calls
and the 429s), a fresh data folder, both accounts connected through the CLI, one real
`sync --json` to fill the ledger (not measured; run at interval 0 to save time), then one
interval of rest so the first call is not held back by the sync's last upsert. The
disconnect itself runs in its own process (this script with `--worker`) through
`connector.services.disconnect.run_disconnect` with an `on_event` listener: wall time is from
the call of `run_disconnect` (the start of the job) to its "deleting local data" progress
event, i.e. the end of the catalog step, before the wipe.

    .venv/bin/python benchmarks/disconnect_pacing.py [--products 20000] [--interval 1]
        [--options deactivate,delete] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    cli,
    connect_both,
    emit,
    endpoints_of,
    linked_count,
    note,
    temp_home,
)

OPERATION = {"deactivate": "upsert", "delete": "delete"}


def worker(option: str) -> None:
    """In the measured process: run the disconnect, print event times as JSON."""
    from connector.engine import Engine
    from connector.events import Finished, Progress, Waiting
    from connector.services.disconnect import run_disconnect

    marks: dict[str, Any] = {"waits": []}

    def on_event(event: Any) -> None:
        now = time.time()
        if isinstance(event, Progress) and event.step == "deleting local data":
            marks["catalog_done"] = now
        elif isinstance(event, Waiting):
            marks["waits"].append(round(event.seconds, 3))
        elif isinstance(event, Finished):
            marks["finished"] = now

    engine = Engine.from_env()
    marks["start"] = time.time()
    receipt = asyncio.run(run_disconnect(engine, option, "disconnect", on_event=on_event))
    marks["changed"] = receipt.changed
    print(json.dumps(marks))


def measure(option: str, products: int, interval: float) -> dict[str, Any]:
    from connector.sandbox.server import SandboxServers

    servers = SandboxServers(catalog_size=products, interval=interval).start()
    try:
        endpoints = endpoints_of(servers)
        with temp_home("disconnect") as home:
            connect_both(endpoints, home)
            note(f"{option}: seeding the ledger with a real sync ({products} products) …")
            servers.mirakl.interval = 0.0
            cli(endpoints, home, "sync", "--json", extra_env={"MIRAKL_WOO_MIN_INTERVAL": "0"})
            servers.mirakl.interval = interval
            linked = linked_count(home)
            time.sleep(interval * 1.05)  # the sync's last upsert no longer holds the next slot
            note(f"{option}: {linked} products in the ledger; disconnect …")
            first = len(servers.mirakl.calls)
            env = endpoints.env(home)
            result = subprocess.run(
                [PYTHON, __file__, "--worker", option], cwd=ROOT, env=env,
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"the disconnect failed: {result.stderr.strip()[-2000:]}")
            marks = json.loads(result.stdout)
            if home.exists():
                raise RuntimeError("the data folder was not wiped")
        calls = servers.mirakl.calls[first:]
    finally:
        servers.stop()

    paced = [c for c in calls if c.operation == OPERATION[option] and c.accepted]
    times = [c.at for c in paced]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    n_calls = len(paced)
    wall = marks["catalog_done"] - marks["start"]
    floor = max(0, n_calls - 1) * interval
    return {
        "option": option,
        "products": marks["changed"],
        "catalog_size": products,
        "ledger_rows": linked,
        "calls": n_calls,
        "items_per_call": [c.items for c in paced],
        "wall_seconds": round(wall, 3),
        "floor_seconds": round(floor, 3),
        "ratio": round(wall / floor, 4) if floor else None,
        "http_429": sum(1 for c in calls if c.status == 429),
        "first_call_after_seconds": round(times[0] - marks["start"], 3) if times else None,
        "last_call_to_catalog_end_seconds": (
            round(marks["catalog_done"] - times[-1], 3) if times else None
        ),
        "gap_seconds": {
            "min": round(min(gaps), 4), "mean": round(sum(gaps) / len(gaps), 4),
            "max": round(max(gaps), 4),
        } if gaps else None,
        "wipe_seconds": round(marks["finished"] - marks["catalog_done"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000,
                        help="WooCommerce catalog size synced into the ledger (default 20000)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two calls of one Mirakl operation (default 1)")
    parser.add_argument("--options", default="deactivate,delete",
                        help="comma-separated: deactivate, delete (default both)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2000 products, interval 0.2 s")
    parser.add_argument("--worker", metavar="OPTION", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.quick:
        args.products, args.interval = 2_000, 0.2
    options = [o.strip() for o in args.options.split(",") if o.strip()]
    for option in options:
        if option not in OPERATION:
            parser.error(f"unknown option {option!r}")
    results = [measure(option, args.products, args.interval) for option in options]
    emit({
        "benchmark": "disconnect_pacing",
        "interval": args.interval,
        "wall": "run_disconnect() called → its 'deleting local data' event (catalog step end, "
                "before the wipe), in the disconnect's own process",
        "results": results,
        "target": "ratio <= 1.02, 0 x 429",
    })


if __name__ == "__main__":
    main()
