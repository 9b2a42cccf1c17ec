"""Long work that outlives the terminal, in the TUI, keyboard only.

"Continue in background" hands the running disconnect (or sync) to a detached runner, and
the app follows it from the journal; a second app on the same data folder shows the
progress of a job another process runs and cannot start one; Stop leaves the job
interrupted and resumable; SIGHUP during a disconnect leaves it journaled as interrupted.

Anything another process runs needs real HTTP: the sandbox servers listen on loopback in
the test, and the engine (and so the runner) points at them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Static

from connector.cli import format_status
from connector.engine import Engine
from connector.errors import ConnectorError
from connector.jobs import is_runner_active
from connector.product_options import ProductOptions
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.server import SandboxServers
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.secret import Secret
from connector.services import onboarding
from connector.services.background import open_job, runner_env
from connector.services.status import status as status_of
from connector.services.sync import run_sync, save_options
from connector.settings import Settings
from tests.sandboxes import World
from tests.tui.account_helpers import account, fill_modal, read_receipt, synced_world
from tests.tui.conftest import DEMO, drawn_keys
from tui.app import MiraklWooApp
from tui.screens.overview import OverviewScreen
from tui.screens.quit_modal import QuitModal
from tui.screens.receipt import ReceiptScreen
from tui.widgets.job_controls import JobControls
from tui.widgets.job_progress import JobProgress

SIZE = (80, 24)
# 900 store products are 1 089 with variations: two batches of Mirakl Connect calls.
CATALOG = 900
#: Seconds between two calls of one Mirakl Connect operation; a test may ask for another
#: with `interval(seconds)` (longer where the app must see the job mid-way).
INTERVAL = 0.6

pytestmark = pytest.mark.timeout(30)


def interval(seconds: float) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("servers", [seconds], indirect=True, ids=[f"{seconds}s"])


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> Iterator[SandboxServers]:
    seconds = getattr(request, "param", INTERVAL)
    with SandboxServers(catalog_size=CATALOG, interval=seconds) as running:
        yield running


def loopback_engine(home: Path, servers: SandboxServers, interval: float | None = None) -> Engine:
    """An engine that reaches the sandboxes over loopback, as a runner process does."""
    return Engine(
        Settings(
            home=home,
            auth_url=servers.auth_url,
            api_url=servers.api_url,
            min_interval=servers.interval if interval is None else interval,
        )
    )


async def connected(home: Path, servers: SandboxServers, *, synced: bool = True) -> Engine:
    """Both accounts authorized (the store by its loopback URL), Sync Product on, and
    (unless `synced=False`) every product pushed by a real sync; then an engine with the
    servers' interval. The set-up sync runs unpaced, so the test waits only for its job."""
    interval = servers.mirakl.interval
    servers.mirakl.interval = 0.0
    setup = loopback_engine(home, servers, interval=0.0)
    try:
        await onboarding.connect_mirakl(setup, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
        await onboarding.connect_woocommerce(
            setup, servers.woo_url, Secret(DEMO_CONSUMER_KEY), Secret(DEMO_CONSUMER_SECRET)
        )
        save_options(setup, ProductOptions(sync_products=True))
        if synced:
            report = await run_sync(setup)
            assert report.pushed > 1000  # two batches
    finally:
        setup.close()
        servers.mirakl.interval = interval
    return loopback_engine(home, servers)


def journal(home: Path) -> dict[str, Any] | None:
    """The newest journal row, read with a connection of the test's own (None: no folder)."""
    path = home / "mirakl-woo.sqlite3"
    if not path.exists():
        return None
    with sqlite3.connect(path, timeout=5) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
    return dict(row) if row else None


def linked_ids(engine: Engine) -> list[str]:
    return [row.mirakl_id for row in engine.store.iter_linked()]


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 10) -> None:
    """Let the app run until `condition()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)


def first_batch_journaled(home: Path) -> Callable[[], bool]:
    def check() -> bool:
        job = journal(home)
        return job is not None and job["done"] >= 1000

    return check


def start_process(engine: Engine, *args: str) -> subprocess.Popen[str]:
    """`mirakl-woo ARGS` in another process, on the same data folder and servers."""
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", *args],
        env=runner_env(engine),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_until_running(home: Path, process: subprocess.Popen[str]) -> None:
    """Until the other process's job is in the journal, running."""
    for _ in range(200):
        job = journal(home)
        if job is not None and job["state"] == "running":
            return
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        await asyncio.sleep(0.02)
    raise AssertionError("the other process never started its job")


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(5)


async def last_notification(pilot: Pilot[Any]) -> Any:
    """The newest notification, once the app has taken it in."""
    await until(pilot, lambda: len(pilot.app._notifications) > 0)
    return list(pilot.app._notifications)[-1]


def reason(app: MiraklWooApp) -> str:
    controls = app.screen.query_one(JobControls)
    return str(controls.query_one("#job-reason", Static).content)


def footer_keys(app: MiraklWooApp) -> dict[str, bool]:
    """The keys the footer shows, and whether each is enabled (False: greyed out)."""
    return {b.binding.key: b.enabled for b in app.screen.active_bindings.values() if b.binding.show}


def palette(app: MiraklWooApp) -> list[str]:
    """The titles the command palette lists on the current screen."""
    return [command.title for command in app.get_system_commands(app.screen)]


def child_pids() -> set[int]:
    """Processes whose parent is this one (Linux)."""
    children: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        children.update(int(pid) for pid in task.read_text().split())
    return children


@interval(1.0)
async def test_the_disconnect_runs_in_a_runner_process_of_its_own(
    mirakl_woo_home: Path, servers: SandboxServers
) -> None:
    """Disconnect & Continue starts a runner process in its own session; the app follows its
    journal, and shows the runner's own receipt (with what Mirakl Connect confirmed)."""
    engine = await connected(mirakl_woo_home, servers)
    ids = linked_ids(engine)
    key_last7 = engine.store.account("woocommerce").details["key_last7"]  # type: ignore[union-attr]
    upserts_before = len(servers.mirakl.calls_of("upsert"))
    app = MiraklWooApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await fill_modal(pilot, "deactivate", "disconnect")
        await pilot.press("enter")
        watch = app.job_watch
        assert watch is not None and watch.pid is not None
        runner = watch.pid
        assert runner in child_pids()
        assert os.getsid(runner) != os.getsid(0)  # its own session: SIGHUP does not reach it
        await until(pilot, first_batch_journaled(mirakl_woo_home))
        screen = account(app)
        assert screen.busy
        assert "b" not in footer_keys(app)  # nothing to hand over: it runs in a runner already
        assert "Continue in background" not in palette(app)
        shown = reason(app)
        assert f"Running in the background (pid {runner}): you can close this terminal" in shown
        assert "`mirakl-woo jobs` shows its progress" in shown
        assert screen.query_one("#job-stop", Button).display
        # Nothing else can start meanwhile (greyed out), and the keys say why when pressed.
        assert app.check_action("sync", ()) is None
        assert screen.check_action("disconnect", ()) is None
        await pilot.press("s", "d")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert len(said) >= 2, said
        assert "A disconnect is running: Sync waits until it ends" in said[-2]
        assert "A disconnect is running already" in said[-1]
        assert app.screen is screen and not app.sync_running
        progress = screen.query_one(JobProgress)
        assert progress.display and progress.title == "Disconnect: Deactivate Products"
        assert not screen.has_class("-failed") and not screen.has_class("-pending")

        await until(pilot, lambda: isinstance(app.screen, ReceiptScreen), timeout=30)
        shown = await read_receipt(pilot)
        assert f"{len(ids):,} products set to quantity 0" in shown
        assert "Mirakl Connect shows" in shown  # the runner's read-back reached the receipt
        assert f"…{key_last7}" in shown
        assert app.sub_title == "not connected"

    assert not mirakl_woo_home.exists()
    for mirakl_id in ids:
        quantities = servers.mirakl.products[mirakl_id]["quantities"]
        assert all(q["available_quantity"] == 0 for q in quantities)
    accepted = [c for c in servers.mirakl.calls_of("upsert")[upserts_before:] if c.status == 202]
    assert sum(c.items for c in accepted) == len(ids)  # no batch sent twice
    assert runner not in child_pids()  # it ended and was reaped
    assert not list(Path(tempfile.gettempdir()).glob("mirakl-woo-runner-*/result.json"))


@interval(1.2)
async def test_a_second_app_shows_the_job_another_process_runs(
    mirakl_woo_home: Path, servers: SandboxServers
) -> None:
    engine = await connected(mirakl_woo_home, servers)
    ids = linked_ids(engine)
    engine.close()
    process = start_process(engine, "disconnect", "--catalog", "delete", "--confirm", "disconnect")
    try:
        await wait_until_running(mirakl_woo_home, process)
        app = MiraklWooApp(engine)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = account(app)  # opens on the job's progress
            progress = screen.query_one(JobProgress)
            assert progress.display and progress.title == "Disconnect: Delete Products"
            assert f"Another mirakl-woo process (pid {process.pid})" in reason(app)
            assert screen.query_one("#job-stop", Button).display
            # It cannot start a job: Sync now and Disconnect are greyed out, keys do nothing.
            keys = footer_keys(app)
            assert keys["s"] is False and keys["d"] is False and keys["x"] is True
            assert "Stop the background job" in palette(app)
            assert not {"Sync now", "Resume disconnect"} & set(palette(app))
            assert not screen.has_class("-pending")  # no Resume over a running job
            await pilot.press("s", "d")
            await pilot.pause()
            assert app.screen is screen and not app.sync_running
            # The progress comes from the journal.
            await until(pilot, lambda: progress.done >= 1000)
            assert progress.total == len(ids)
            # When the other process finishes, the app says so and starts over.
            await until(pilot, lambda: isinstance(app.screen, ReceiptScreen))
            shown = await read_receipt(pilot)
            assert f"{len(ids):,} products deleted" in shown
            assert f"another mirakl-woo process (pid {process.pid})" in shown.lower()
        assert process.wait(10) == 0
        assert not mirakl_woo_home.exists()  # gone, and the app did not re-create it
        assert not set(ids) & set(servers.mirakl.products)
    finally:
        stop(process)


@interval(1.0)
async def test_stop_leaves_the_job_interrupted_and_a_background_runner_resumes_it(
    mirakl_woo_home: Path, servers: SandboxServers
) -> None:
    engine = await connected(mirakl_woo_home, servers)
    ids = linked_ids(engine)
    engine.close()
    process = start_process(
        engine, "disconnect", "--catalog", "deactivate", "--confirm", "disconnect"
    )
    try:
        await wait_until_running(mirakl_woo_home, process)
        app = MiraklWooApp(engine)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = account(app)
            await until(pilot, first_batch_journaled(mirakl_woo_home))
            await pilot.press("x")  # Stop
            assert process.wait(10) == 5  # stopped part-way, resumable
            await until(pilot, lambda: app.job_watch is None)
            job = open_job(engine)
            assert job is not None and job["state"] == "interrupted"
            assert job["done"] == 1000 and not job["runner_active"]
            # The Account screen offers Resume (here) and Resume in background.
            assert screen.has_class("-pending")
            assert "stopped at 1,000 of" in str(screen.query_one("#pending-text", Static).content)
            await until(pilot, lambda: app.focused is screen.query_one("#resume", Button))
            assert app.check_action("sync", ()) is True  # nothing runs any more
            # What it did already is said everywhere: the Overview, `status` and its JSON.
            said = "1,000 products set to 0 on Mirakl Connect by an unfinished disconnect"
            await pilot.press("o")
            assert said in str(app.screen.query_one("#products", Static).content)
            current = status_of(engine)
            assert current["products"]["changed_by_disconnect"] == 1000
            assert f"{said}: `jobs resume` finishes it" in format_status(current)
            await pilot.press("a")
            screen = account(app)
            await until(pilot, lambda: app.focused is screen.query_one("#resume", Button))

            await pilot.press("tab", "enter")  # Resume in background
            await until(pilot, lambda: app.job_watch is not None)
            runner = app.job_watch.pid if app.job_watch else None
            assert runner is not None and runner != process.pid
            assert not screen.has_class("-pending")
            await pilot.press("ctrl+q")  # asked: "Leave it running" has the focus
            await pilot.press("enter")  # the merchant leaves; the runner goes on
    finally:
        stop(process)
    assert app.return_code == 0
    _, status = os.waitpid(runner, 0)  # the runner finishes the job without the app
    assert os.waitstatus_to_exitcode(status) == 0
    assert not mirakl_woo_home.exists()
    for mirakl_id in ids:
        quantities = servers.mirakl.products[mirakl_id]["quantities"]
        assert all(q["available_quantity"] == 0 for q in quantities)


async def test_sync_now_runs_in_a_runner_process_of_its_own(
    mirakl_woo_home: Path, servers: SandboxServers
) -> None:
    """Sync now starts a runner process (its own session: a closed terminal does not stop
    it); the app only reads the journal, and shows the runner's report at the end."""
    engine = await connected(mirakl_woo_home, servers, synced=False)
    app = MiraklWooApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("s")
        assert app.sync_running and app.job_watch is not None
        runner = app.job_watch.pid
        assert runner is not None and runner in child_pids()
        assert os.getsid(runner) != os.getsid(0)  # its own session: SIGHUP does not reach it
        await until(pilot, lambda: len(servers.mirakl.calls_of("upsert")) >= 1)
        assert "Running in the background" in reason(app)
        assert "b" not in footer_keys(app)  # nothing to hand over: it runs in a runner already
        assert app.job_blocks("sync") and app.job_blocks("disconnect")
        progress = app.screen.query_one("#sync-progress", JobProgress)
        assert progress.display and not progress.finished
        await until(pilot, lambda: app.job_watch is None, timeout=60)
        assert progress.finished and any(line.startswith("Done:") for line in progress.lines)
        # The Overview was read again: every product pushed, nothing left to continue.
        pushed = engine.store.ledger_counts()["pushed"]
        assert pushed == len(servers.mirakl.products) > 1000
        products = str(app.screen.query_one("#products", Static).content)
        assert f"{pushed:,} pushed" in products
        assert not app.screen.query_one("#sync-job", Static).display
        assert app.check_action("sync", ()) is True
        await until(pilot, lambda: runner not in child_pids())  # it exited and was reaped


async def test_an_unfinished_sync_is_said_on_the_overview(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home, catalog_size=40, interval=0.02)
    # The next pass has every product to send again, and Mirakl Connect answers 503.
    save_options(world.engine, ProductOptions(sync_products=True, unmanaged_stock=7))
    world.mirakl_faults.error_rate = 1.0
    with pytest.raises(ConnectorError):
        await run_sync(world.engine)
    world.mirakl_faults.error_rate = 0.0
    app = MiraklWooApp(world.engine)
    async with app.run_test(size=SIZE) as pilot:
        line = app.screen.query_one("#sync-job", Static)
        assert line.display
        assert str(line.content).startswith("The last sync stopped")
        assert str(line.content).endswith("; Sync now continues it.")
        # Or resume it in the background, offered beside the sync's progress (added just
        # after the first frame).
        await until(pilot, lambda: drawn_keys(app).get("b") is True, timeout=2)
        await pilot.press("s")
        await until(pilot, lambda: not app.sync_running)
        assert not app.screen.query_one("#sync-job", Static).display


async def test_sighup_during_a_disconnect_journals_it_as_interrupted(
    mirakl_woo_home: Path,
) -> None:
    # In-process sandboxes: 1 083 products pushed unpaced, then two delete batches 1 s apart.
    world = await synced_world(mirakl_woo_home, catalog_size=CATALOG, interval=0.0)
    world.engine.close()
    world.mirakl.interval = 1.0
    engine = Engine(
        dataclasses.replace(world.engine.settings, min_interval=1.0),
        mirakl_transport=world.engine.mirakl_transport,
        woo_transport=world.engine.woo_transport,
        client_options=world.engine.client_options,
    )
    before = len(world.mirakl.calls_of("delete"))
    children = child_pids()
    app = MiraklWooApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await fill_modal(pilot, "delete", "disconnect")
        await pilot.press("enter")
        await until(pilot, first_batch_journaled(mirakl_woo_home))
        os.kill(os.getpid(), signal.SIGHUP)  # the SSH session dropped
        await until(pilot, lambda: app._exit)
        # The job worker ended before the app did: nothing is left running.
        assert not [w for w in app.workers if not w.is_finished]
    assert app.return_code == 0
    # Journaled as interrupted (not left "running"), exactly at the batches Mirakl accepted.
    job = engine.store.open_job()
    assert job is not None and job.kind == "disconnect" and job.state == "interrupted"
    accepted = [c for c in world.mirakl.calls_of("delete")[before:] if c.status == 202]
    assert job.done == sum(c.items for c in accepted) == 1000
    assert child_pids() <= children  # the app started no process that outlives it
    engine.close()


async def test_quitting_during_a_sync_asks_and_can_leave_it_running(
    mirakl_woo_home: Path, servers: SandboxServers
) -> None:
    engine = await connected(mirakl_woo_home, servers, synced=False)
    app = MiraklWooApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: len(servers.mirakl.calls_of("upsert")) >= 1)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitModal)
        await pilot.press("escape")  # stay: nothing stopped
        await pilot.pause()
        assert not isinstance(app.screen, QuitModal) and app.sync_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#background")
        await pilot.press("enter")  # leave it running
        await until(pilot, lambda: not app.is_running, timeout=20)
    # The app is gone; its runner finishes the pass.
    store = engine.store
    deadline = time.monotonic() + 60
    while store.open_job("sync") is not None or is_runner_active(store):
        assert time.monotonic() < deadline, "the background runner did not finish the sync"
        time.sleep(0.2)
    assert store.ledger_counts()["pushed"] == len(servers.mirakl.products) > 1000


async def test_the_demo_offers_only_stop_or_stay(connected: World) -> None:
    connected.mirakl_faults.latency = 0.5
    app = MiraklWooApp(connected.engine, demo=DEMO)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.press("ctrl+q")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, QuitModal)
        assert not modal.query("#background")  # its servers end with the app
        said = str(modal.query_one("#quit-text", Static).content)
        assert "cannot go on in the background" in said
        assert app.check_action("continue_in_background", ()) is False
        await pilot.press("x")  # stop it: recorded, resumable
        await until(pilot, lambda: not app.is_running, timeout=20)
    job = connected.engine.store.open_job("sync")
    assert job is not None and job.state == "interrupted"
