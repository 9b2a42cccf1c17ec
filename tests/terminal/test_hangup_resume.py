"""A dropped SSH session in the middle of a disconnect: the terminal goes away (tmux
kill-session sends SIGHUP), the app must leave no process behind and lose nothing; the next
start offers to resume, and the end state is exactly that of an uninterrupted run.

The sandbox runs in this test process (not through `demo`, whose sandbox would die with the
app): 2 500 WooCommerce products, about 3 000 Mirakl Connect products once variations are
counted, so the deactivation takes four paced calls one second apart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest

from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.server import SandboxServers
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.store import Store
from tests.terminal.conftest import (
    Terminal,
    app_command,
    cli,
    framed,
    marks,
    pane_env,
    processes_with_env,
    receipt_text,
    spaced,
    wait_process_gone,
)

INTERVAL = 1.0
BATCH = 1000
OPTIONS = ("Disconnect & keep catalog active", "Deactivate Products", "Delete Products")
FOREIGN = {f"NOT-FROM-WOO-{n}": {"available_quantity": 7 + n} for n in range(3)}


@pytest.fixture
def servers() -> Iterator[SandboxServers]:
    with SandboxServers(catalog_size=2500, interval=INTERVAL) as running:
        yield running


def quantities(product: dict) -> list[int]:
    return [row["available_quantity"] for row in product.get("quantities") or []]


def items_sent(servers: SandboxServers, after: int) -> int:
    """Products in the upsert calls Mirakl Connect accepted, after the first `after` calls."""
    calls = servers.mirakl.calls_of("upsert")[after:]
    return sum(call.items for call in calls if 200 <= call.status < 300)


def disconnect_done(home: Path) -> int:
    """Products the journal records as done by the disconnect job (0 before it starts)."""
    with closing(sqlite3.connect(home / "mirakl-woo.sqlite3", timeout=5)) as db:
        row = db.execute("SELECT done FROM jobs WHERE kind = 'disconnect'").fetchone()
    return row[0] if row else 0


def connect_and_sync(env: dict[str, str], home: Path, servers: SandboxServers) -> None:
    """Headless, as a script would: both accounts, Sync Product on, one sync."""
    mirakl = cli(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert mirakl.returncode == 0, mirakl.stderr
    woo = cli(
        env | {"MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET},
        "connect",
        "woocommerce",
        "--url",
        servers.woo_url,
        "--consumer-key",
        DEMO_CONSUMER_KEY,
    )
    assert woo.returncode == 0, woo.stderr
    store = Store(home / "mirakl-woo.sqlite3")
    try:
        store.set_setting("product_options", {"sync_products": True})
    finally:
        store.close()
    sync = cli(env, "sync")
    assert sync.returncode == 0, sync.stdout + sync.stderr


def test_hangup_mid_disconnect_then_resume(
    terminal: Callable[..., Terminal], tmp_path: Path, servers: SandboxServers
) -> None:
    home = tmp_path / "home"
    env = pane_env(home, servers.env())
    connect_and_sync(env, home, servers)
    pushed = set(servers.mirakl.products)  # the sandbox started empty: all came from the sync
    assert len(pushed) > 2 * BATCH
    # Products on the seller's Mirakl Connect account the connector never pushed.
    servers.mirakl.seed({"id": pid, "quantities": [row]} for pid, row in FOREIGN.items())
    sync_upserts = len(servers.mirakl.calls_of("upsert"))

    # The TUI: Account → Disconnect → Deactivate Products → confirm.
    t = terminal(app_command(), env=env)
    t.wait_for_line("Overview", "Last sync", timeout=30)
    t.settle()
    t.send("a")
    t.wait_for_all("API key", "Connected since")
    t.send("d")
    t.wait_for_all("Disconnect & Continue", "Deactivate Products")
    t.send("Down", "Space")
    t.wait_until(lambda s: marks(s, OPTIONS)["Deactivate Products"] == "●", "Deactivate chosen")
    t.send("Tab")
    t.type("disconnect")
    t.send("Tab", "Tab")
    t.send("Enter", settle=False)

    # Past the first batch, on screen and in the journal; then the terminal goes away.
    def past_first_batch(screen: str) -> bool:
        shown = re.search(r"([\d,]+) of ([\d,]+) products", screen)
        return bool(shown) and int(shown.group(1).replace(",", "")) >= BATCH

    t.wait_until(past_first_batch, f"{BATCH} products done on screen", timeout=30)
    assert disconnect_done(home) >= BATCH
    app_pid = t.pid
    assert app_pid is not None
    t.kill_session()

    # No process left behind (the pane's pid, and anything with this data folder).
    exited = wait_process_gone(app_pid, 5.0)
    lingering = processes_with_env("MIRAKL_WOO_HOME", str(home))
    if not exited:  # note it, stop it (the rest of the test still runs), fail at the end
        with suppress(ProcessLookupError):
            os.kill(app_pid, signal.SIGKILL)
        wait_process_gone(app_pid, 5.0)

    # Nothing wiped; the journal says where it stopped.
    assert home.exists() and (home / "mirakl-woo.sqlite3").exists()
    result = cli(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    job = status["job"]
    assert job is not None and job["kind"] == "disconnect", status
    assert job["state"] in ("interrupted", "failed"), job
    assert BATCH <= job["done"] < job["total"] == len(pushed), job
    assert status["mirakl"] is not None and status["woocommerce"] is not None
    assert status["products"]["linked"] == len(pushed)
    assert items_sent(servers, sync_upserts) == job["done"], "the journal and Mirakl disagree"

    # Start again: the app opens on the unfinished disconnect and offers Resume (focused).
    t2 = terminal(app_command(), env=env)
    screen = t2.wait_for_all("Resume", "stopped at", timeout=30)
    where = f"stopped at {spaced(job['done'])} of {spaced(job['total'])} products"
    assert where in screen, framed(screen)
    t2.settle()
    t2.send("Enter", settle=False)
    screen = t2.wait_for_all("Receipt", "c Continue", timeout=30)
    assert "Revoke the key ending in" in receipt_text(screen), framed(screen)
    t2.send("Enter", settle=False)
    t2.wait_for_all("Authorize Mirakl Connect", timeout=30)
    t2.send("C-q", settle=False)
    assert t2.wait_exit() == 0

    # The end state of an uninterrupted run: every pushed product at 0, each sent once,
    # the seller's other products untouched, the data folder gone.
    not_zero = [pid for pid in pushed if set(quantities(servers.mirakl.products[pid])) != {0}]
    assert not not_zero, f"{len(not_zero)} pushed products not at quantity 0"
    for pid, row in FOREIGN.items():
        assert servers.mirakl.products[pid]["quantities"] == [row]
    sent = items_sent(servers, sync_upserts)
    assert sent == len(pushed), f"{sent} items sent for {len(pushed)} products: a batch went twice"
    assert not home.exists(), "the data folder survived the disconnect"

    assert exited and not lingering, (
        f"the app (pid {app_pid}) was still running 5 s after its terminal went away "
        f"(SIGHUP); processes with this data folder: {lingering}"
    )
