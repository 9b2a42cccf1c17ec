"""A dropped SSH session in the middle of a disconnect: the terminal goes away (tmux
kill-session sends SIGHUP). The app exits; the job goes on in its runner process (its own
session), the next app start shows it running and then its receipt, and the end state is
exactly that of an uninterrupted run.

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

from connector.sandbox.faults import Faults
from connector.sandbox.server import SandboxServers
from tests.terminal.conftest import (
    Terminal,
    app_command,
    cli,
    connect_headless,
    framed,
    marks,
    pane_env,
    processes_with_env,
    receipt_text,
    wait_process_gone,
)

INTERVAL = 1.0
BATCH = 1000
OPTIONS = ("Disconnect & keep catalog active", "Deactivate Products", "Delete Products")
FOREIGN = {f"NOT-FROM-WOO-{n}": {"available_quantity": 7 + n} for n in range(3)}


@pytest.fixture
def servers() -> Iterator[SandboxServers]:
    with SandboxServers(catalog_size=2500, interval=INTERVAL, mirakl_faults=Faults()) as running:
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


def connect_and_sync(env: dict[str, str], servers: SandboxServers) -> None:
    """Headless, as a script would: both accounts, Sync Product on, one sync."""
    connect_headless(env, servers.woo_url)
    sync = cli(env, "sync")
    assert sync.returncode == 0, sync.stdout + sync.stderr


def test_hangup_mid_disconnect_the_job_goes_on(
    terminal: Callable[..., Terminal], tmp_path: Path, servers: SandboxServers
) -> None:
    home = tmp_path / "home"
    env = pane_env(home, servers.env())
    connect_and_sync(env, servers)
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
    servers.mirakl_faults.latency = 2.0  # Mirakl slows down: the job outlasts the next start
    t.kill_session()

    # The app is gone; its runner (its own session, so no SIGHUP) goes on with the job.
    exited = wait_process_gone(app_pid, 5.0)
    if not exited:  # note it, stop it (the rest of the test still runs), fail at the end
        with suppress(ProcessLookupError):
            os.kill(app_pid, signal.SIGKILL)
        wait_process_gone(app_pid, 5.0)
    runners = processes_with_env("MIRAKL_WOO_HOME", str(home))
    assert len(runners) == 1 and app_pid not in runners, runners
    result = cli(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job is not None and job["kind"] == "disconnect" and job["state"] == "running", job

    # Start again: the app opens on the running disconnect, read from its journal.
    t2 = terminal(app_command(), env=env)
    screen = t2.wait_for_all("Disconnect: Deactivate Products", "Another mirakl-woo", timeout=30)
    assert f"pid {runners[0]}" in screen, framed(screen)
    servers.mirakl_faults.latency = 0.0
    screen = t2.wait_for_all("Receipt", "c Continue", timeout=60)
    assert "Revoke the key ending in" in receipt_text(screen), framed(screen)
    t2.send("Enter", settle=False)
    t2.wait_for_all("Authorize Mirakl Connect", timeout=30)
    t2.send("C-q", settle=False)
    assert t2.wait_exit() == 0
    assert wait_process_gone(runners[0], 10.0), "the runner did not exit after its job"

    # The end state of an uninterrupted run: every pushed product at 0, each sent once,
    # the seller's other products untouched, the data folder gone.
    not_zero = [pid for pid in pushed if set(quantities(servers.mirakl.products[pid])) != {0}]
    assert not not_zero, f"{len(not_zero)} pushed products not at quantity 0"
    for pid, row in FOREIGN.items():
        assert servers.mirakl.products[pid]["quantities"] == [row]
    sent = items_sent(servers, sync_upserts)
    assert sent == len(pushed), f"{sent} items sent for {len(pushed)} products: a batch went twice"
    assert not home.exists(), "the data folder survived the disconnect"
    assert exited, f"the app (pid {app_pid}) was still running 5 s after SIGHUP"
