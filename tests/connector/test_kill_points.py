"""kill -9 at points spread over a sync and a disconnect — inside the window between Mirakl
Connect applying a batch and its answer arriving too — each followed by the same command, then
a check of the whole remote end state: every product of the connector's handled, every product
it never created untouched, nothing left of the data folder.

The CLI runs as a real process against the sandboxes on loopback (served from this process,
so the test sees the remote state as it changes and kills at the instant it wants).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from connector.sandbox.faults import Faults
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.server import SandboxServers
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

INTERVAL = 0.25
FOREIGN = [
    {"id": "seller-own-1", "quantities": [{"available_quantity": 7}]},
    {"id": "seller-own-2", "title": {"en_US": "The seller's own"}},
]


@dataclass
class Bench:
    servers: SandboxServers
    mirakl: Faults
    woo: Faults
    env: dict[str, str]
    home: Path
    theirs: dict[str, dict]

    def cli(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "connector.cli", *args],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "connector.cli", *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return result

    def kill_when(self, args: tuple[str, ...], point: Callable[[], bool]) -> None:
        """Start the command; kill -9 it the instant `point()` holds."""
        process = self.cli(*args)
        deadline = time.monotonic() + 60
        try:
            while not point():
                if process.poll() is not None:
                    raise AssertionError(
                        f"{args} ended (rc {process.returncode}) before its kill point: "
                        f"{process.stderr.read() if process.stderr else ''}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"{args} never reached its kill point")
                time.sleep(0.002)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(10)
            for stream in (process.stdout, process.stderr):
                if stream:
                    stream.close()
        self.mirakl.clear()
        self.woo.clear()

    # remote state -----------------------------------------------------------------------

    def products(self) -> dict[str, dict]:
        return self.servers.mirakl.products

    def accepted(self, operation: str) -> int:
        return sum(1 for c in self.servers.mirakl.calls_of(operation) if c.status == 202)

    def ledger(self) -> dict[str, tuple[int, int]]:
        with sqlite3.connect(self.home / "mirakl-woo.sqlite3") as db:
            rows = db.execute("SELECT mirakl_id, on_mirakl, possibly FROM ledger").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def theirs_untouched(self) -> None:
        for mirakl_id, product in self.theirs.items():
            assert self.products().get(mirakl_id) == product, mirakl_id


@pytest.fixture
def bench(tmp_path: Path):
    mirakl, woo = Faults(), Faults(only_paths=("/wp-json/wc/",))
    servers = SandboxServers(
        catalog_size=900, interval=INTERVAL, mirakl_faults=mirakl, woo_faults=woo
    ).start()
    try:
        servers.mirakl.seed(FOREIGN)
        home = tmp_path / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
        env.update(servers.env(), MIRAKL_WOO_HOME=str(home))
        env["MIRAKL_WOO_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
        env["MIRAKL_WOO_CONSUMER_SECRET"] = DEMO_CONSUMER_SECRET
        bench = Bench(servers, mirakl, woo, env, home, copy.deepcopy(servers.mirakl.products))
        for args in (
            ("connect", "mirakl", "--client-id", DEMO_CLIENT_ID),
            ("connect", "woocommerce", "--url", servers.woo_url,
             "--consumer-key", DEMO_CONSUMER_KEY),
        ):  # fmt: skip
            done = bench.run(*args)
            assert done.returncode == 0, done.stderr
        with sqlite3.connect(home / "mirakl-woo.sqlite3") as db:
            db.execute(
                "INSERT OR REPLACE INTO settings VALUES ('product_options', ?)",
                (json.dumps({"sync_products": True}),),
            )
        yield bench
    finally:
        servers.stop()


def hold_nth(faults: Faults, method: str, nth: int) -> Callable[[], bool]:
    """Mirakl applies the `nth` `method` call from now and holds its answer: the kill point."""
    faults.only_paths, faults.only_methods = ("/api/products",), (method,)
    faults.hold_from, faults.hold_reply = faults.seen + nth, 30.0  # clear() lets it go
    return lambda: faults.holding > 0


def grown_by(read: Callable[[], int], k: int) -> Callable[[], bool]:
    """The kill point `k` more (requests, accepted calls) from now."""
    start = read()
    return lambda: read() >= start + k


SYNC_POINTS: dict[str, Callable[[Bench], Callable[[], bool]]] = {
    "inventory page applied, answer held": lambda b: hold_nth(b.mirakl, "GET", 1),
    "reading the store, 3rd request": lambda b: grown_by(lambda: b.woo.seen, 3),
    "reading the store, 12th request": lambda b: grown_by(lambda: b.woo.seen, 12),
    "reading the store, 20th request": lambda b: grown_by(lambda: b.woo.seen, 20),
    "batch 1 applied, answer held": lambda b: hold_nth(b.mirakl, "POST", 1),
    "batch 2 applied, answer held": lambda b: hold_nth(b.mirakl, "POST", 2),
    "batch 1 answered": lambda b: grown_by(lambda: b.accepted("upsert"), 1),
    "batch 2 answered": lambda b: grown_by(lambda: b.accepted("upsert"), 2),
}
DISCONNECT_POINTS: dict[str, Callable[[Bench], Callable[[], bool]]] = {
    "delete batch 1 applied, answer held": lambda b: hold_nth(b.mirakl, "DELETE", 1),
    "delete batch 2 applied, answer held": lambda b: hold_nth(b.mirakl, "DELETE", 2),
    "delete batch 1 answered": lambda b: grown_by(lambda: b.accepted("delete"), 1),
    "delete batch 2 answered (wiping)": lambda b: grown_by(lambda: b.accepted("delete"), 2),
}
DELETE = ("disconnect", "--catalog", "delete", "--confirm", "disconnect")
DEACTIVATE = ("disconnect", "--catalog", "deactivate", "--confirm", "disconnect")


def finish_and_check_sync(bench: Bench) -> None:
    done = bench.run("sync", "--json")
    assert done.returncode == 0, done.stderr
    ledger = bench.ledger()
    ours = set(bench.products()) - set(bench.theirs)
    assert ours and all(ledger.get(i, (0, 0))[0] == 1 for i in ours)  # each one known
    assert not {i for i, (on, possibly) in ledger.items() if on or possibly} - ours
    bench.theirs_untouched()


def check_disconnected(bench: Bench, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    bench.theirs_untouched()
    assert not bench.home.exists()


@pytest.mark.parametrize("sync_point", list(SYNC_POINTS))
def test_kill_during_sync_then_the_same_command(bench: Bench, sync_point: str) -> None:
    bench.kill_when(("sync",), SYNC_POINTS[sync_point](bench))
    finish_and_check_sync(bench)
    check_disconnected(bench, bench.run(*DELETE))
    assert set(bench.products()) == set(bench.theirs)


@pytest.mark.parametrize("sync_point", ["batch 1 applied, answer held", "batch 2 answered"])
def test_kill_during_sync_then_disconnect_at_once(bench: Bench, sync_point: str) -> None:
    """No sync runs in between: the disconnect alone must find what the killed pass sent."""
    bench.kill_when(("sync",), SYNC_POINTS[sync_point](bench))
    assert set(bench.products()) - set(bench.theirs)  # Mirakl has some of ours
    check_disconnected(bench, bench.run(*DELETE))
    assert set(bench.products()) == set(bench.theirs)


@pytest.mark.parametrize("point", list(DISCONNECT_POINTS))
def test_kill_during_disconnect_then_the_same_command(bench: Bench, point: str) -> None:
    finish_and_check_sync(bench)
    bench.kill_when(DELETE, DISCONNECT_POINTS[point](bench))
    check_disconnected(bench, bench.run(*DELETE))
    assert set(bench.products()) == set(bench.theirs)


@pytest.mark.parametrize("nth", [1, 2])
def test_kill_during_deactivate_then_the_same_command(bench: Bench, nth: int) -> None:
    finish_and_check_sync(bench)
    ours = set(bench.products()) - set(bench.theirs)
    bench.kill_when(DEACTIVATE, hold_nth(bench.mirakl, "POST", nth))
    check_disconnected(bench, bench.run(*DEACTIVATE))
    assert set(bench.products()) == ours | set(bench.theirs)  # nothing deleted, nothing made
    for mirakl_id in ours:
        quantities = bench.products()[mirakl_id]["quantities"]
        assert all(q["available_quantity"] == 0 for q in quantities), mirakl_id


def test_killed_again_while_resuming_then_the_same_command(bench: Bench) -> None:
    """Two kills in a row, each inside the window after Mirakl applied a batch."""
    bench.kill_when(("sync",), hold_nth(bench.mirakl, "POST", 1))
    bench.kill_when(("sync",), hold_nth(bench.mirakl, "POST", 1))
    finish_and_check_sync(bench)
    check_disconnected(bench, bench.run(*DELETE))
    assert set(bench.products()) == set(bench.theirs)


@pytest.mark.parametrize("second", ["jobs resume", "disconnect"])
def test_kill_during_disconnect_then_again_while_it_resumes(bench: Bench, second: str) -> None:
    finish_and_check_sync(bench)
    bench.kill_when(DELETE, hold_nth(bench.mirakl, "DELETE", 1))
    again = ("jobs", "resume") if second == "jobs resume" else DELETE
    bench.kill_when(again, hold_nth(bench.mirakl, "DELETE", 1))
    check_disconnected(bench, bench.run("jobs", "resume"))
    assert set(bench.products()) == set(bench.theirs)


def test_kill_during_deactivate_after_an_answer_then_the_same_command(bench: Bench) -> None:
    finish_and_check_sync(bench)
    ours = set(bench.products()) - set(bench.theirs)
    bench.kill_when(DEACTIVATE, grown_by(lambda: bench.accepted("upsert"), 1))
    check_disconnected(bench, bench.run(*DEACTIVATE))
    assert set(bench.products()) == ours | set(bench.theirs)
    assert all(
        q["available_quantity"] == 0 for i in ours for q in bench.products()[i]["quantities"]
    )


def test_kill_while_the_seller_catalog_is_read_page_two(bench: Bench) -> None:
    """A seller with more than one page of their own products: killed on the second page."""
    many = [{"id": f"seller-bulk-{n:04d}"} for n in range(1200)]
    bench.servers.mirakl.seed(many)
    bench.theirs.update(copy.deepcopy({p["id"]: bench.products()[p["id"]] for p in many}))
    bench.kill_when(("sync",), hold_nth(bench.mirakl, "GET", 2))
    finish_and_check_sync(bench)
    check_disconnected(bench, bench.run(*DELETE))
    assert set(bench.products()) == set(bench.theirs)


def test_a_killed_disconnect_called_off_from_the_cli_then_synced_back(bench: Bench) -> None:
    """An SSH drop mid-delete; the admin changes their mind: `jobs cancel`, then `sync`."""
    finish_and_check_sync(bench)
    before = copy.deepcopy(bench.products())
    bench.kill_when(DELETE, grown_by(lambda: bench.accepted("delete"), 1))
    assert len(bench.products()) < len(before)  # the first batch went
    cancelled = bench.run("jobs", "cancel", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    answer = json.loads(cancelled.stdout)
    # Killed as the answer arrived: changed for sure, or sent and never heard back about.
    assert answer["kind"] == "disconnect" and answer["restored"] + answer["maybe"] == 1000
    assert "stay connected" in answer["message"]
    assert bench.run("jobs", "cancel").stdout.startswith("Nothing to cancel")
    finish_and_check_sync(bench)
    assert bench.products() == before  # every deleted product back, as WooCommerce has it
    check_disconnected(bench, bench.run(*DEACTIVATE, "--no-verify"))  # another option now
