"""Sync memory: peak RSS of a sync pass of a large catalog ÷ that of a small one.

Each size gets its own sandbox process (`mirakl-woo sandbox --interval 0`), its own data
folder, and a fresh sync process (`python -m connector.cli sync --json`,
MIRAKL_WOO_MIN_INTERVAL=0) whose peak resident memory is read from `os.wait4` (ru_maxrss of that
child alone, not of this script nor of the sandbox).

    .venv/bin/python benchmarks/sync_memory.py [--small 1000] [--large 100000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time

from _common import PYTHON, ROOT, SandboxProcess, connect_both, emit, note, temp_home


def measure(products: int) -> dict[str, object]:
    note(f"{products} products: sandbox, connect …")
    with SandboxProcess(products, 0.0) as sandbox, temp_home("memory") as home:
        assert sandbox.endpoints is not None
        connect_both(sandbox.endpoints, home)
        note(f"{products} products: sync --json …")
        started = time.monotonic()
        process = subprocess.Popen(
            [PYTHON, "-m", "connector.cli", "sync", "--json"],
            cwd=ROOT, env=sandbox.endpoints.env(home),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        if process.returncode != 0:
            raise RuntimeError(f"sync exited {process.returncode}")
        report = json.loads(output)
    peak = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    note(f"{products} products: peak {peak} MB in {wall:.1f} s")
    return {
        "products": products,
        "items_pushed": report["pushed"] + report["set_to_0"],
        "calls": report["calls"],
        "peak_rss_mb": peak,
        "sync_seconds": report["seconds"],
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000, help="default 1000 products")
    parser.add_argument("--large", type=int, default=100_000, help="default 100000 products")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1000 vs 5000 products")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large = 1_000, 5_000
    small = measure(args.small)
    large = measure(args.large)
    emit({
        "benchmark": "sync_memory",
        "small": small,
        "large": large,
        "ratio": round(float(large["peak_rss_mb"]) / float(small["peak_rss_mb"]), 3),
        "target": "ratio <= 1.2",
    })


if __name__ == "__main__":
    main()
