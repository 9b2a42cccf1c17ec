"""The wipe removes exactly the connector's files, and a folder only if it made it and it is
empty then; nothing started while it runs brings the folder back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from connector import redact
from connector.engine import DataFolderBusy, Engine
from connector.jobs import DataFolderGone, JobBusy, is_runner_active, runner_lock
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.secret import Secret
from connector.services import disconnect, onboarding
from connector.services.onboarding import DisconnectInProgress
from connector.services.status import status
from connector.services.sync import run_sync
from connector.services.wipe import connector_files, wipe_data_folder
from connector.store import Store
from tests.sandboxes import make_world

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def real_wipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drive the disconnect through wipe_data_folder until disconnect.py calls it itself."""
    if hasattr(disconnect, "_wipe"):
        monkeypatch.setattr(disconnect, "_wipe", wipe_data_folder)


@pytest.fixture(autouse=True)
def no_file_log() -> Any:
    yield
    redact.setup_logging(None)


async def connected(home: Path, *, sync: bool = True):
    world = make_world(home)
    await world.connect()
    if sync:
        await run_sync(world.engine)
    redact.setup_logging(str(world.engine.settings.log_path))
    redact.setup_logging(None)  # the log file exists now, as after any command
    (world.engine.settings.log_dir / "runner.out").write_text("a detached runner's output\n")
    return world


def tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


async def test_the_merchants_files_and_folders_stay_only_ours_go(mirakl_woo_home: Path) -> None:
    home = mirakl_woo_home
    (home / "logs").mkdir(parents=True)
    (home / "cache").mkdir()
    (home / "logs" / "web.log").write_text("the web server's log")
    (home / "cache" / "thumbs.db").write_text("thumbnails")
    (home / "notes.txt").write_text("mine")
    (home / "mirakl-woo.log.bak").write_text("looks like ours, is not")
    world = await connected(home)
    settings = world.engine.settings
    assert settings.secrets_path.exists() and settings.log_path.exists()
    assert world.engine.created_folders() == []
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert tree(home) == [
        "cache",
        "cache/thumbs.db",
        "logs",
        "logs/web.log",
        "mirakl-woo.log.bak",
        "notes.txt",
    ]
    assert (home / "logs" / "web.log").read_text() == "the web server's log"
    assert Engine(settings).peek_store() is None


async def test_a_fresh_data_folder_goes_entirely(mirakl_woo_home: Path) -> None:
    world = await connected(mirakl_woo_home)
    assert sorted(world.engine.created_folders()) == ["cache", "home", "logs"]
    (mirakl_woo_home / ".secrets.abc.tmp").write_text("{}")  # an interrupted write's leftover
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert not mirakl_woo_home.exists()
    assert Engine.from_env().peek_store() is None
    assert not mirakl_woo_home.exists()  # looking did not bring it back
    assert status(world.engine)["mirakl"] is None


async def test_a_folder_the_connector_made_keeps_what_the_merchant_put_in_it(
    mirakl_woo_home: Path,
) -> None:
    world = await connected(mirakl_woo_home)
    (mirakl_woo_home / "logs" / "my-notes.txt").write_text("mine")
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert tree(mirakl_woo_home) == ["logs", "logs/my-notes.txt"]


async def test_a_later_open_that_created_nothing_keeps_the_record(mirakl_woo_home: Path) -> None:
    world = await connected(mirakl_woo_home, sync=False)
    world.engine.close()
    again = Engine(world.engine.settings)
    assert sorted(again.created_folders()) == ["cache", "home", "logs"]
    again.close()
    (mirakl_woo_home / "cache").rmdir()  # someone removed it; the next open makes it again
    third = Engine(world.engine.settings)
    third.store  # noqa: B018 (opening is the point)
    assert sorted(third.created_folders()) == ["cache", "home", "logs"]
    third.close()


async def test_a_home_that_is_a_symlink_is_neither_re_moded_nor_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    real.chmod(0o755)
    (real / "keep.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("MIRAKL_WOO_HOME", str(link))
    world = await connected(link)
    assert real.stat().st_mode & 0o777 == 0o755
    assert "home" not in world.engine.created_folders()
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert link.is_symlink() and real.is_dir()
    assert real.stat().st_mode & 0o777 == 0o755
    assert tree(real) == ["keep.txt"]


async def test_an_empty_symlinked_home_stays_too(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    real.chmod(0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    world = await connected(link)
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert link.is_symlink() and real.is_dir() and tree(real) == []


async def test_a_folder_others_can_read_is_reported_not_changed(mirakl_woo_home: Path) -> None:
    mirakl_woo_home.mkdir()
    mirakl_woo_home.chmod(0o755)
    world = await connected(mirakl_woo_home, sync=False)
    assert mirakl_woo_home.stat().st_mode & 0o777 == 0o755
    warnings = status(world.engine)["warnings"]
    assert len(warnings) == 1 and str(mirakl_woo_home) in warnings[0] and "0755" in warnings[0]
    assert world.engine.settings.secrets_path.stat().st_mode & 0o777 == 0o600
    assert world.engine.settings.db_path.stat().st_mode & 0o777 == 0o600


async def test_a_crash_inside_the_wipe_is_finished_by_the_next_run(
    mirakl_woo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await connected(mirakl_woo_home)
    engine = world.engine
    real_close = engine.close

    def crash() -> None:
        raise OSError("the power went out")

    monkeypatch.setattr(engine, "close", crash)
    with pytest.raises(OSError):
        await disconnect.run_disconnect(engine, "keep", "disconnect")
    assert not engine.settings.secrets_path.exists()  # secrets first
    assert engine.settings.db_path.exists()  # the journal is still there
    monkeypatch.setattr(engine, "close", real_close)
    engine.close()
    second = make_world(mirakl_woo_home).engine
    assert disconnect.pending(second) is not None
    await disconnect.run_disconnect(second, "keep", "disconnect")
    assert not mirakl_woo_home.exists()


def test_connector_files_name_the_database_family_and_the_logs(tmp_path: Path) -> None:
    from connector.settings import Settings

    settings = Settings(home=tmp_path)
    names = [str(path.relative_to(tmp_path)) for path in connector_files(settings)]
    assert names[0] == "secrets.json"
    assert names[-1] == "mirakl-woo.sqlite3"
    assert {"logs/mirakl-woo.log", "logs/runner.out", "mirakl-woo.sqlite3-wal"} <= set(names)


# --- nothing started during the wipe brings the folder back ---------------------------


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MIRAKL_WOO_HOME": str(home),
        "MIRAKL_WOO_AUTH_URL": "http://127.0.0.1:9/oauth/token",  # nothing may leave
        "MIRAKL_WOO_API_URL": "http://127.0.0.1:9/api",
        "MIRAKL_WOO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "connector.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_commands_of_other_processes_during_the_wipe_are_refused(
    mirakl_woo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await connected(mirakl_woo_home)
    engine = world.engine
    real_close = engine.close
    seen: dict[str, subprocess.CompletedProcess[str]] = {}

    def close_after_others_tried() -> None:
        """Mid-wipe: secrets and logs gone, the database not yet; the lock is held."""
        if not seen:
            seen["status"] = _cli(mirakl_woo_home, "status", "--json")
            seen["connect"] = _cli(
                mirakl_woo_home, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID
            )
            seen["resume"] = _cli(mirakl_woo_home, "jobs", "resume")
            seen["sync"] = _cli(mirakl_woo_home, "sync")
        real_close()

    monkeypatch.setattr(engine, "close", close_after_others_tried)
    await disconnect.run_disconnect(engine, "keep", "disconnect")
    assert seen["status"].returncode == 0, seen["status"].stderr
    for name in ("connect", "resume", "sync"):
        result = seen[name]
        assert result.returncode == 1, (name, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "disconnect is running" in seen["connect"].stderr
    assert "Another mirakl-woo process" in seen["resume"].stderr
    assert not mirakl_woo_home.exists()
    after = _cli(mirakl_woo_home, "status")
    assert after.returncode == 0 and "not connected" in after.stdout
    assert not mirakl_woo_home.exists()


async def test_a_connect_during_the_wipe_is_refused_in_process(
    mirakl_woo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await connected(mirakl_woo_home)
    engine = world.engine
    errors: list[BaseException] = []

    def other_process_connects() -> None:
        other = make_world(mirakl_woo_home).engine

        async def connect() -> None:
            await onboarding.connect_mirakl(other, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))

        try:
            asyncio.run(connect())
        except BaseException as error:  # noqa: BLE001 (the test looks at it)
            errors.append(error)
        finally:
            other.close()

    real_setup = redact.setup_logging

    def setup_logging(path: str | None, *args: Any) -> Any:
        if path is None and not errors:
            thread = threading.Thread(target=other_process_connects)
            thread.start()
            thread.join()
        return real_setup(path, *args)

    monkeypatch.setattr(redact, "setup_logging", setup_logging)
    await disconnect.run_disconnect(engine, "keep", "disconnect")
    (error,) = errors
    assert isinstance(error, DisconnectInProgress) and error.exit_code == 1
    assert "\n" not in error.one_line()
    assert not mirakl_woo_home.exists()


def test_no_fresh_database_while_the_lock_is_held(mirakl_woo_home: Path) -> None:
    """The database is gone but a disconnect still holds the lock (it is wiping)."""
    from filelock import FileLock

    mirakl_woo_home.mkdir(mode=0o700)
    lock = FileLock(str(mirakl_woo_home / "runner.lock"))
    with lock:
        engine = Engine.from_env()
        with pytest.raises(DataFolderBusy, match="disconnect is deleting"):
            engine.store  # noqa: B018
        assert engine.peek_store() is None
        assert sorted(p.name for p in mirakl_woo_home.iterdir()) == ["runner.lock"]


def test_runner_lock_never_brings_a_wiped_folder_back(mirakl_woo_home: Path) -> None:
    store = Engine.from_env().store
    for path in sorted(mirakl_woo_home.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    mirakl_woo_home.rmdir()
    with pytest.raises(DataFolderGone, match="deleted by a disconnect"), runner_lock(store):
        pass
    assert not is_runner_active(store)
    assert not mirakl_woo_home.exists()
    store.close()


def test_runner_lock_taken_on_a_folder_half_wiped_is_given_back(mirakl_woo_home: Path) -> None:
    """The database already gone, the folder still there: no lock file stays behind."""
    engine = Engine.from_env()
    store = engine.store
    for suffix in ("", "-wal", "-shm"):
        Path(f"{engine.settings.db_path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(DataFolderGone), runner_lock(store):
        pass
    assert not (mirakl_woo_home / "runner.lock").exists()
    store.close()


def test_a_busy_runner_lock_is_one_clear_error(mirakl_woo_home: Path) -> None:
    store = Engine.from_env().store
    with runner_lock(store):
        assert is_runner_active(store)
        with pytest.raises(JobBusy), runner_lock(Store(store.path)):
            pass
    assert not is_runner_active(store)
    store.close()


def test_checking_the_runner_creates_no_lock_file(mirakl_woo_home: Path) -> None:
    store = Engine.from_env().store
    assert not is_runner_active(store)
    assert not (mirakl_woo_home / "runner.lock").exists()
    store.close()
