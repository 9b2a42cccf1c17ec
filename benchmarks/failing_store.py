"""How long a `sync` takes to give up when the store fails while it is read, and what it says.

For each way a real store fails mid-read (WooCommerce deactivated: 404 `rest_no_route`;
permalinks switched: 301; the key revoked: 401; the host overloaded: 503; the host gone: the
connection drops), a fresh data folder is connected, the store is told to fail from its Nth
REST request on, and one `sync --json` runs in a subprocess. Then the store is healed and a
second `sync` runs in the same folder: it must continue (exit 0), which shows the runner lock
was released.

Prints, per failure: `exit_code`, `seconds` (process wall time), `stderr_lines`, `message`
(the one line), and `next_sync_exit_code`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    PYTHON,
    ROOT,
    connect_both,
    emit,
    endpoints_of,
    note,
    temp_home,
)

FAILURES: dict[str, tuple[int, dict | None, dict[str, str]]] = {
    "woocommerce deactivated (404 rest_no_route)": (
        404,
        {"code": "rest_no_route", "message": "No route was found matching the URL and request "
         "method.", "data": {"status": 404}},
        {},
    ),
    "permalinks switched (301, no body, as WordPress)": (
        301, None, {"Location": "/wp-json/wc/v3/products/?per_page=100"},
    ),
    "key revoked (401)": (
        401,
        {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
         "data": {"status": 401}},
        {},
    ),
    "host overloaded (503 every time)": (503, None, {}),
    "host gone (connection dropped)": (0, None, {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1500)
    parser.add_argument("--fail-from", type=int, default=6, metavar="N",
                        help="the Nth REST request of the sync on fails")
    parser.add_argument("--quick", action="store_true", help="300 products")
    args = parser.parse_args()
    products = 300 if args.quick else args.products

    from connector.sandbox.faults import Faults
    from connector.sandbox.server import SandboxServers

    woo = Faults(only_paths=("/wp-json/wc/",))
    servers = SandboxServers(catalog_size=products, interval=0.2, woo_faults=woo).start()
    results = []
    try:
        endpoints = endpoints_of(servers)
        for name, (status, body, headers) in FAILURES.items():
            with temp_home("failing-store") as home:
                woo.clear()
                connect_both(endpoints, home)
                woo.fail_from, woo.fail_status = woo.seen + args.fail_from, status
                woo.fail_body, woo.fail_headers = body, headers
                note(f"{name}: sync against a store failing from request {args.fail_from}")
                env = endpoints.env(home)
                started = time.monotonic()
                done = subprocess.run(
                    [PYTHON, "-m", "connector.cli", "sync", "--json"], env=env, cwd=ROOT,
                    capture_output=True, text=True, timeout=300, check=False,
                )
                seconds = time.monotonic() - started
                woo.clear()
                again = subprocess.run(
                    [PYTHON, "-m", "connector.cli", "sync", "--json"], env=env, cwd=ROOT,
                    capture_output=True, text=True, timeout=300, check=False,
                )
                lines = done.stderr.strip().splitlines()
                results.append({
                    "failure": name,
                    "exit_code": done.returncode,
                    "seconds": round(seconds, 2),
                    "stderr_lines": len(lines),
                    "message": lines[-1] if lines else "",
                    "next_sync_exit_code": again.returncode,
                })
    finally:
        servers.stop()
    emit({"products": products, "fail_from": args.fail_from, "results": results})


if __name__ == "__main__":
    main()
