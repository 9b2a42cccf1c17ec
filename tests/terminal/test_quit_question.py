"""ctrl+q while the app's own sync runs, in a real terminal: the app asks. "Leave it running"
quits and the runner (a process of its own session) finishes the pass; "Stop it" quits and
the pass is recorded where it stopped, resumable. An idle app quits at once.

The sandbox runs in this test process: 2 500 WooCommerce products, about 3 000 Mirakl
Connect products, each call slowed down so that the pass outlasts the question.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.faults import Faults
from connector.sandbox.server import SandboxServers
from tests.terminal.conftest import (
    Terminal,
    app_command,
    cli,
    connect_headless,
    framed,
    pane_env,
    processes_with_env,
    wait_process_gone,
)


@pytest.fixture
def servers() -> Iterator[SandboxServers]:
    with SandboxServers(catalog_size=2500, interval=1.0, mirakl_faults=Faults()) as running:
        yield running


def runners_of(home: Path) -> list[int]:
    """The mirakl-woo processes on this data folder (not the tmux server started with the
    same environment)."""
    found = []
    for pid in processes_with_env("MIRAKL_WOO_HOME", str(home)):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"connector.cli" in command or b"tui.main" in command:
            found.append(pid)
    return found


def status(env: dict[str, str]) -> dict[str, Any]:
    result = cli(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sync_and_quit(t: Terminal) -> str:
    """On the Overview: start a sync, wait for its progress, press ctrl+q; the question."""
    t.wait_for_line("Overview", "Last sync", timeout=30)
    t.settle()
    t.send("s")
    t.wait_for_all("Sync: ", "Stop", timeout=30)
    t.send("C-q", settle=False)
    return t.wait_for_all("A sync is running", "Leave it running", "Stop it", timeout=15)


def test_quit_during_a_sync_asks_and_leave_it_running_lets_the_pass_finish(
    terminal: Callable[..., Terminal], tmp_path: Path, servers: SandboxServers
) -> None:
    home = tmp_path / "home"
    env = pane_env(home, servers.env())
    connect_headless(env, servers.woo_url)
    servers.mirakl_faults.latency = 1.0  # each call a second longer: the pass lasts a while

    t = terminal(app_command(), env=env)
    sync_and_quit(t)
    t.send("Enter", settle=False)  # "Leave it running" has the focus
    assert t.wait_exit() == 0
    runners = runners_of(home)
    assert len(runners) == 1, runners
    job = status(env)["job"]
    assert job is not None and job["kind"] == "sync" and job["state"] == "running", job

    servers.mirakl_faults.latency = 0.0
    assert wait_process_gone(runners[0], 60.0), "the runner did not finish its pass"
    done = status(env)
    assert done["job"] is None
    assert done["last_sync"] is not None and done["last_sync"]["failed"] == 0
    assert done["products"]["linked"] == len(servers.mirakl.products) > 2000


def test_quit_during_a_sync_stop_it_records_where_it_stopped_and_resumes(
    terminal: Callable[..., Terminal], tmp_path: Path, servers: SandboxServers
) -> None:
    home = tmp_path / "home"
    env = pane_env(home, servers.env())
    connect_headless(env, servers.woo_url)
    servers.mirakl_faults.latency = 3.0

    t = terminal(app_command(), env=env)
    screen = sync_and_quit(t)
    assert "resumes later" in screen, framed(screen)
    t.send("x", settle=False)  # Stop it
    assert t.wait_exit(timeout=30) == 0
    assert runners_of(home) == []
    job = status(env)["job"]
    assert job is not None and job["kind"] == "sync" and job["state"] == "interrupted", job

    servers.mirakl_faults.latency = 0.0
    resumed = cli(env, "jobs", "resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done = status(env)
    assert done["job"] is None and done["last_sync"]["failed"] == 0
    assert done["products"]["linked"] == len(servers.mirakl.products) > 2000

    # Idle, ctrl+q quits at once: no question.
    t2 = terminal(app_command(), env=env)
    t2.wait_for_line("Overview", "Last sync", timeout=30)
    t2.settle()
    t2.send("C-q", settle=False)
    assert t2.wait_exit() == 0
