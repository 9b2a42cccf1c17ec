"""The headless half as a server admin scripts it: Product Settings, a schedule for `sync`,
answers scripts can rely on. A real CLI process against the sandbox servers; systemd is a
stand-in `systemctl` first on PATH (an outside program), the unit folder a temp XDG dir."""

from __future__ import annotations

import configparser
import json
import os
import pty
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.sandbox.server import SandboxServers
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from tests.connector.test_cli import cli_env, connect_both, run

CATALOG = 40
FAKE_SYSTEMCTL = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_SYSTEMCTL_LOG"
case "$2" in
  show-environment)
    if [ -n "$FAKE_SYSTEMCTL_NO_BUS" ]; then
      echo "Failed to connect to bus: No such file or directory" >&2; exit 1
    fi
    echo "HOME=/nowhere" ;;
  enable)
    if [ -n "$FAKE_SYSTEMCTL_FAIL_ENABLE" ]; then
      echo "Failed to enable unit: Access denied" >&2; exit 1
    fi ;;
  disable)
    if [ -n "$FAKE_SYSTEMCTL_FAIL_DISABLE" ]; then
      echo "Failed to disable unit: Access denied" >&2; exit 1
    fi ;;
  show) echo "NextElapseUSecRealtime=Tue 2024-01-02 10:15:00 UTC" ;;
esac
exit 0
"""


@pytest.fixture(scope="module")
def servers() -> Iterator[SandboxServers]:
    with SandboxServers(catalog_size=CATALOG, interval=0.05) as running:
        yield running


@pytest.fixture
def env(tmp_path: Path, servers: SandboxServers) -> dict[str, str]:
    """The CLI's environment: its own data folder, unit folder and stand-in systemctl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    return cli_env(
        tmp_path / "home",
        servers,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        FAKE_SYSTEMCTL_LOG=str(tmp_path / "systemctl.log"),
    )


def home(env: dict[str, str]) -> Path:
    return Path(env["MIRAKL_WOO_HOME"])


def unit_folder(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user"


def systemctl_calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_SYSTEMCTL_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mirakl-woo"), result.stderr
    return lines[0]


def json_error(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    error = json.loads(result.stdout)["error"]
    assert set(error) == {"code", "message", "hint"} and error["message"]
    return error


def saved_options(env: dict[str, str]) -> dict[str, object]:
    with sqlite3.connect(home(env) / "mirakl-woo.sqlite3") as db:
        row = db.execute("SELECT value FROM settings WHERE key = 'product_options'").fetchone()
    return json.loads(row[0])


# Product Settings -------------------------------------------------------------------------


def test_settings_of_a_fresh_machine_are_the_defaults_and_create_nothing(env) -> None:
    shown = run(env, "settings", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "sync_products": False,
        "statuses": ["publish"],
        "unmanaged_stock": 10,
        "price_mode": "regular_with_sale",
        "warehouse_code": "",
        "locale": "",
        "take_over_existing": False,
    }
    text = run(env, "settings")
    assert text.returncode == 0
    assert "sync_products" in text.stdout and "Sync products: Off" in text.stdout
    assert len(text.stdout.strip().splitlines()) == 7
    assert not home(env).exists()


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("sync_products", "on", True),
        ("statuses", "draft,publish", ["publish", "draft"]),
        ("unmanaged_stock", "0", 0),
        ("price_mode", "current", "current"),
        ("warehouse_code", "  WH-1 ", "WH-1"),
        ("locale", "fr-ca", "fr_CA"),
        ("take_over_existing", "yes", True),
    ],
)
def test_settings_set_saves_one_setting_as_the_app_would(env, name, value, stored) -> None:
    result = run(env, "settings", "set", name, value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Saved: ")
    shown = json.loads(run(env, "settings", "--json").stdout)
    assert shown[name] == stored
    assert saved_options(env)[name] == stored
    again = run(env, "settings", "set", name, value)
    assert again.stdout.startswith("Nothing changed: ")


def test_sync_products_set_headless_shows_in_status(env) -> None:
    assert run(env, "settings", "set", "sync_products", "on").returncode == 0
    assert json.loads(run(env, "status", "--json").stdout)["sync_products"] is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("syncing", "on"),
        ("sync_products", "maybe"),
        ("statuses", "publish,trash"),
        ("statuses", ""),
        ("unmanaged_stock", "-1"),
        ("unmanaged_stock", "ten"),
        ("price_mode", "cheapest"),
        ("warehouse_code", "W" * 256),
        ("locale", "english"),
        ("take_over_existing", "sometimes"),
    ],
)
def test_a_bad_setting_is_one_line_exit_2_and_changes_nothing(env, name, value) -> None:
    assert run(env, "settings", "set", "warehouse_code", "KEEP").returncode == 0
    before = saved_options(env)
    result = run(env, "settings", "set", name, value, "--json")
    assert result.returncode == 2
    one_error_line(result)
    assert json_error(result)["code"] == "usage_error"
    assert saved_options(env) == before


def test_a_bad_setting_on_a_fresh_machine_creates_nothing(env) -> None:
    result = run(env, "settings", "set", "unmanaged_stock", "lots")
    assert result.returncode == 2 and result.stdout == ""
    assert "whole number" in one_error_line(result)
    assert not home(env).exists()


# schedule ---------------------------------------------------------------------------------


def unit_values(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_schedule_install_writes_an_enabled_user_timer_whose_service_syncs(
    env, servers: SandboxServers
) -> None:
    connect_both(env, servers)
    assert run(env, "settings", "set", "sync_products", "on").returncode == 0
    installed = run(env, "schedule", "install", "--every", "30m", "--json")
    assert installed.returncode == 0, installed.stderr
    answer = json.loads(installed.stdout)
    assert answer["kind"] == "systemd" and answer["every"] == "30m"
    timers = list(unit_folder(env).glob("mirakl-woo-sync-*.timer"))
    services = list(unit_folder(env).glob("mirakl-woo-sync-*.service"))
    assert len(timers) == 1 and len(services) == 1
    timer = unit_values(timers[0])
    assert timer["Persistent"] == ["true"]
    assert timer["OnCalendar"] == ["*-*-* *:00/30:00"]
    assert int(timer["RandomizedDelaySec"][0]) > 0
    assert timer["WantedBy"] == ["timers.target"]
    name = timers[0].name
    assert systemctl_calls(env) == [
        "--user show-environment",
        "--user daemon-reload",
        f"--user enable {name}",
        f"--user restart {name}",
        f"--user show {name} --property=NextElapseUSecRealtime",
    ]
    status = json.loads(run(env, "status", "--json").stdout)
    assert status["schedule"] == {
        "kind": "systemd",
        "every": "30m",
        "next_run": "Tue 2024-01-02 10:15:00 UTC",
        "detail": f"systemd user timer {name}",
    }
    assert "next run Tue 2024-01-02 10:15:00 UTC" in run(env, "status").stdout

    # What systemd would run: this interpreter, the same data folder and servers.
    service = unit_values(services[0])
    command = shlex.split(service["ExecStart"][0])
    assert command[:3] == [sys.executable, "-m", "connector.cli"] and command[3] == "sync"
    unit_env = dict(shlex.split(v)[0].split("=", 1) for v in service["Environment"])
    assert unit_env["MIRAKL_WOO_HOME"] == env["MIRAKL_WOO_HOME"]
    assert service["ConditionPathExists"] == [str(home(env) / "mirakl-woo.sqlite3")]
    ran = subprocess.run(
        command, env={"PATH": os.environ["PATH"], **unit_env}, capture_output=True, text=True,
        timeout=60, cwd="/",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""  # --quiet: no progress lines for the journal
    assert "Sync done" in ran.stdout
    assert json.loads(run(env, "status", "--json").stdout)["products"]["linked"] > 0


HOLD_THE_LOCK = """
import sys, time
from connector.engine import Engine
from connector.jobs import runner_lock
from connector.settings import Settings
engine = Engine(Settings.from_env())
with runner_lock(engine.store):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_scheduled_sync_that_meets_a_running_job_is_skipped_not_failed(
    env, servers: SandboxServers
) -> None:
    """Cron starts the next run while the last one still goes (a large catalog): no mail."""
    connect_both(env, servers)
    assert run(env, "settings", "set", "sync_products", "on").returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK], env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        by_hand = run(env, "sync")
        assert by_hand.returncode == 1 and "Another mirakl-woo process" in by_hand.stderr
        scheduled = run(env, "sync", "--quiet", "--skip-if-busy")
        assert (scheduled.returncode, scheduled.stdout, scheduled.stderr) == (0, "", "")
        as_json = run(env, "sync", "--skip-if-busy", "--json")
        assert as_json.returncode == 0
        assert json.loads(as_json.stdout) == {"kind": "sync", "skipped_busy": True}
        told = run(env, "sync", "--skip-if-busy")
        assert told.returncode == 0 and "This sync is skipped." in told.stderr
    finally:
        holder.communicate("", timeout=30)
    assert json.loads(run(env, "status", "--json").stdout)["last_sync"] is None  # none ran
    # What the timer runs skips so too.
    service = next(iter(unit_folder(env).glob("*.service")), None)
    assert service is None
    assert run(env, "schedule", "install").returncode == 0
    command = shlex.split(unit_values(next(unit_folder(env).glob("*.service")))["ExecStart"][0])
    assert command[3:] == ["sync", "--quiet", "--skip-if-busy"]


def test_the_units_pass_systemd_analyze_verify(env, tmp_path: Path) -> None:
    """Read as systemd reads them; and, where systemd-analyze is installed, verified by it."""
    env = env | {"MIRAKL_WOO_HOME": str(tmp_path / "a folder with 100% of spaces")}
    assert run(env, "schedule", "install", "--every", "6h").returncode == 0
    units = sorted(unit_folder(env).glob("mirakl-woo-sync-*"))
    timer = configparser.ConfigParser(strict=True, interpolation=None)
    timer.read(next(u for u in units if u.suffix == ".timer"))
    assert timer["Timer"]["Persistent"] == "true" and timer["Timer"]["RandomizedDelaySec"]
    if shutil.which("systemd-analyze") is None:
        return
    verified = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr


def test_schedule_remove_undoes_exactly_what_install_made(env, tmp_path: Path) -> None:
    folder = unit_folder(env)
    folder.mkdir(parents=True)
    (folder / "someone-else.timer").write_text("[Timer]\n")
    assert run(env, "schedule", "install").returncode == 0
    assert len(list(folder.glob("mirakl-woo-sync-*"))) == 2
    name = next(folder.glob("mirakl-woo-sync-*.timer")).name
    log = Path(env["FAKE_SYSTEMCTL_LOG"])
    log.unlink()
    removed = run(env, "schedule", "remove")
    assert removed.returncode == 0, removed.stderr
    assert "Schedule removed" in removed.stdout
    assert [p.name for p in folder.iterdir()] == ["someone-else.timer"]
    assert f"--user disable --now {name}" in systemctl_calls(env)
    assert "--user daemon-reload" in systemctl_calls(env)
    status = json.loads(run(env, "status", "--json").stdout)
    assert status["schedule"] is None
    again = run(env, "schedule", "remove")
    assert again.returncode == 0 and "No schedule to remove" in again.stdout


def test_a_disconnect_removes_the_timer_it_scheduled_and_nothing_else(
    env, servers: SandboxServers
) -> None:
    connect_both(env, servers)
    folder = unit_folder(env)
    folder.mkdir(parents=True)
    (folder / "someone-else.timer").write_text("[Timer]\n")
    assert run(env, "schedule", "install", "--every", "15m").returncode == 0
    name = next(folder.glob("mirakl-woo-sync-*.timer")).name
    result = run(env, "disconnect", "--catalog", "keep", "--confirm", "disconnect", "--json")
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["schedule"] == f"The scheduled sync was removed (systemd user timer {name})."
    assert [p.name for p in folder.iterdir()] == ["someone-else.timer"]
    assert f"--user disable --now {name}" in systemctl_calls(env)
    assert not home(env).exists()


def test_a_disconnect_stopped_before_its_wipe_keeps_the_timer_then_removes_it(
    tmp_path: Path, env
) -> None:
    """Mirakl Connect down during the catalog step: the disconnect stops, the timer stays
    (the connection is not over); cancelled, the merchant still has the schedule; done
    later, the receipt says the timer went."""
    from connector.sandbox.faults import Faults

    with SandboxServers(catalog_size=CATALOG, interval=0.05, mirakl_faults=Faults()) as down:
        env = env | down.env()
        connect_both(env, down)
        assert run(env, "settings", "set", "sync_products", "on").returncode == 0
        assert run(env, "sync").returncode == 0
        assert run(env, "schedule", "install").returncode == 0
        timers = sorted(p.name for p in unit_folder(env).glob("mirakl-woo-sync-*"))
        assert len(timers) == 2
        down.mirakl_faults.error_rate = 1.0
        stopped = run(env, "disconnect", "--catalog", "deactivate", "--confirm", "disconnect")
        assert stopped.returncode != 0
        assert sorted(p.name for p in unit_folder(env).glob("mirakl-woo-sync-*")) == timers
        assert run(env, "jobs", "cancel").returncode == 0
        assert sorted(p.name for p in unit_folder(env).glob("mirakl-woo-sync-*")) == timers
        assert json.loads(run(env, "status", "--json").stdout)["schedule"]["kind"] == "systemd"
        down.mirakl_faults.error_rate = 0.0
        done = run(env, "disconnect", "--catalog", "deactivate", "--confirm", "disconnect")
        assert done.returncode == 0, done.stderr
        assert "The scheduled sync was removed (systemd user timer" in done.stdout
        assert list(unit_folder(env).glob("mirakl-woo-sync-*")) == []


def test_a_timer_that_cannot_be_disabled_does_not_stop_the_disconnect(
    env, servers: SandboxServers
) -> None:
    connect_both(env, servers)
    assert run(env, "schedule", "install").returncode == 0
    broken = env | {"FAKE_SYSTEMCTL_FAIL_DISABLE": "1"}
    result = run(broken, "disconnect", "--catalog", "keep", "--confirm", "disconnect")
    assert result.returncode == 0, result.stderr
    assert "Failed to disable unit: Access denied" in result.stdout
    assert "Remove it with `mirakl-woo schedule remove`." in result.stdout
    assert not home(env).exists()
    # The timer left behind skips its runs: its service needs the database, now gone.
    service = next(unit_folder(env).glob("mirakl-woo-sync-*.service")).read_text()
    assert f"ConditionPathExists={home(env) / 'mirakl-woo.sqlite3'}" in service
    removed = run(env, "schedule", "remove")
    assert removed.returncode == 0, removed.stderr
    assert list(unit_folder(env).glob("mirakl-woo-sync-*")) == []
    assert not home(env).exists()  # removing the timer made no data folder again


def test_without_systemd_the_cron_line_is_printed_and_nothing_installed(
    env, servers: SandboxServers
) -> None:
    connect_both(env, servers)
    env = env | {"FAKE_SYSTEMCTL_NO_BUS": "1"}
    result = run(env, "schedule", "install", "--every", "2h")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    minute, hour, *rest = line.split()
    assert minute.isdigit() and hour.endswith("-23/2") and rest[:3] == ["*", "*", "*"]
    assert f"MIRAKL_WOO_HOME={env['MIRAKL_WOO_HOME']}" in line and " sync " in line
    assert not unit_folder(env).exists()
    assert systemctl_calls(env) == ["--user show-environment"]
    status = json.loads(run(env, "status", "--json").stdout)["schedule"]
    assert status["kind"] == "cron" and status["next_run"] is None
    assert status["detail"] == "cron line printed, not installed"
    assert "cron line printed, not installed" in run(env, "status").stdout
    removed = run(env, "schedule", "remove")
    assert "crontab" in removed.stdout
    assert json.loads(run(env, "status", "--json").stdout)["schedule"] is None
    assert run(env, "schedule", "install", "--every", "2h").returncode == 0
    receipt = run(env, "disconnect", "--catalog", "keep", "--confirm", "disconnect")
    assert receipt.returncode == 0, receipt.stderr
    assert "remove it from your crontab" in receipt.stdout


@pytest.mark.parametrize("every", ["4m", "25h", "45m", "90m", "15", "15s", "-15m", "1d", ""])
def test_a_bad_interval_is_one_line_exit_2_and_changes_nothing(env, every: str) -> None:
    result = run(env, "schedule", "install", "--every", every, "--json")
    assert result.returncode == 2
    assert "--every" in one_error_line(result)
    assert json_error(result)["code"] == "usage_error"
    assert not unit_folder(env).exists() and not home(env).exists()
    assert systemctl_calls(env) == []


def test_a_refused_enable_leaves_nothing_installed(env) -> None:
    result = run(env | {"FAKE_SYSTEMCTL_FAIL_ENABLE": "1"}, "schedule", "install")
    assert result.returncode == 1
    assert "Access denied" in one_error_line(result)
    assert list(unit_folder(env).iterdir()) == []
    assert json.loads(run(env, "status", "--json").stdout)["schedule"] is None


# answers scripts rely on ------------------------------------------------------------------


def test_a_failure_with_json_is_also_json_on_stdout(env) -> None:
    result = run(env, "sync", "--json")
    assert result.returncode == 1
    line = one_error_line(result)
    error = json_error(result)
    assert error["code"] == "not_connected"
    assert error["message"] in line and error["hint"] in line
    usage = run(env, "status", "--json", "--bogus")
    assert usage.returncode == 2
    one_error_line(usage)
    assert json_error(usage)["code"] == "usage_error"


def test_status_json_always_holds_every_documented_key(env, servers: SandboxServers) -> None:
    keys = {"mirakl", "woocommerce", "sync_products", "products", "job", "last_sync",
            "schedule", "data_folder", "warnings"}  # fmt: skip
    fresh = json.loads(run(env, "status", "--json").stdout)
    assert keys <= set(fresh)
    connect_both(env, servers)
    connected = json.loads(run(env, "status", "--json").stdout)
    assert keys <= set(connected)
    assert connected["last_sync"] is None and connected["schedule"] is None


def test_a_sync_with_syncing_off_says_it_once(env, servers: SandboxServers) -> None:
    connect_both(env, servers)
    result = run(env, "sync")
    assert result.returncode == 0, result.stderr
    said = (result.stdout + result.stderr).count("Sync Product is off")
    assert said == 1 and "Sync Product is off" in result.stderr


def test_status_into_a_pipe_closed_early_ends_quietly(env) -> None:
    head = subprocess.run(
        f"{shlex.quote(sys.executable)} -m connector.cli status | head -1",
        shell=True, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert head.stdout.startswith("Mirakl Connect") and head.stderr == ""
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "status", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first byte is written
    _, err = process.communicate(timeout=60)
    assert err == ""


def test_a_missing_sub_command_names_the_choices(env) -> None:
    result = run(env, "schedule")
    assert result.returncode == 2
    assert "{install,remove}" in one_error_line(result)


def test_every_option_and_command_has_help() -> None:
    import argparse

    from connector.cli import build_parser

    missing: list[str] = []

    def visit(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                missing.extend(
                    f"{parser.prog} {name}" for name in action.choices if name not in helped
                )
                for sub in action.choices.values():
                    visit(sub)
            elif not action.help:
                missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")

    visit(build_parser())
    assert missing == []


def test_a_missing_consumer_key_is_asked_for_on_a_terminal(env, servers: SandboxServers) -> None:
    main, child = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "connect", "woocommerce",
             "--url", servers.woo_url],
            env=env | {"MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET},
            stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.write(main, f"{DEMO_CONSUMER_KEY}\n".encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(main)
        os.close(child)
    assert process.returncode == 0, err
    assert "consumer key" in err and "WooCommerce connected" in out
    woo = json.loads(run(env, "status", "--json").stdout)["woocommerce"]
    assert woo["key_last7"] == DEMO_CONSUMER_KEY[-7:]


def test_a_missing_consumer_key_without_a_terminal_is_one_line(
    env, servers: SandboxServers
) -> None:
    words = ["connect", "woocommerce", "--url", servers.woo_url]
    result = run(env, *words, stdin=DEMO_CONSUMER_SECRET)
    assert result.returncode == 2
    assert "No consumer key given" in one_error_line(result)
    assert not home(env).exists()


def test_version() -> None:
    from connector import __version__

    result = subprocess.run(
        [sys.executable, "-m", "connector.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == f"mirakl-woo {__version__}"
