"""`sync` on a schedule: a systemd user timer and service, or, without a systemd user
instance, the cron line to add by hand (printed, nothing installed).

One timer per data folder: its name carries a digest of the folder's path. The unit folder is
`$XDG_CONFIG_HOME/systemd/user` and `systemctl` is looked up on `PATH`, as systemd's own tools
do; tests point both at stand-ins."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from connector.engine import Engine
from connector.errors import ConnectorError, UsageError

SETTING = "schedule"  # settings key: the cron line printed for this data folder
MARKER = "# Written by `mirakl-woo schedule install`; `mirakl-woo schedule remove` removes it."
#: Carried into the scheduled run when set, so it reaches the same servers as this shell.
CARRIED_ENV = (
    "MIRAKL_WOO_AUTH_URL",
    "MIRAKL_WOO_API_URL",
    "MIRAKL_WOO_MIN_INTERVAL",
    "MIRAKL_WOO_CA_FILE",
)
EVERY_CHOICES = "5m, 6m, 10m, 12m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h"
_EVERY = re.compile(r"^\s*(\d{1,4})\s*([mh])\s*$")
_SYSTEMCTL_TIMEOUT = 20


class ScheduleFailed(ConnectorError):
    """systemctl refused to load, enable or disable the timer."""

    exit_code = 1


def parse_every(text: str) -> int:
    """Minutes between two runs: 5m to 24h, dividing an hour or a day evenly, so that a
    systemd calendar and a cron line both run at that pace all day long."""
    match = _EVERY.match(text or "")
    minutes = 0
    if match:
        minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if not (5 <= minutes < 60 and 60 % minutes == 0) and not (
        minutes >= 60 and minutes % 60 == 0 and 24 % (minutes // 60) == 0
    ):
        raise UsageError(
            "--every takes a number with m (minutes) or h (hours), from 5m to 24h, "
            f"dividing an hour or a day evenly: {EVERY_CHOICES}.",
            "Nothing was changed.",
        )
    return minutes


def format_every(minutes: int) -> str:
    return f"{minutes // 60}h" if minutes >= 60 else f"{minutes}m"


def _home(engine: Engine) -> Path:
    return engine.settings.home.expanduser().absolute()


def unit_name(engine: Engine) -> str:
    digest = hashlib.sha256(str(_home(engine)).encode()).hexdigest()[:10]
    return f"mirakl-woo-sync-{digest}"


def unit_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user"


def _paths(engine: Engine) -> tuple[Path, Path]:
    folder, name = unit_dir(), unit_name(engine)
    return folder / f"{name}.service", folder / f"{name}.timer"


def _command(engine: Engine) -> list[str]:
    return [sys.executable, "-m", "connector.cli", "sync", "--quiet", "--skip-if-busy"]


def _environment(engine: Engine) -> dict[str, str]:
    env = {"MIRAKL_WOO_HOME": str(_home(engine))}
    env.update({name: os.environ[name] for name in CARRIED_ENV if os.environ.get(name)})
    return env


def _systemd_quote(text: str, *, exec_line: bool = False) -> str:
    if "\n" in text or "\r" in text:
        raise UsageError("A path or setting holds a line break: it cannot go into a unit file.")
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    quoted = quoted.replace("%", "%%")  # systemd specifiers
    return quoted.replace("$", "$$") if exec_line else quoted


def _unquoted(text: str) -> str:
    """A value systemd takes as the rest of the line (a path, a description)."""
    if "\n" in text or "\r" in text:
        raise UsageError("A path holds a line break: it cannot go into a unit file.")
    return text.replace("%", "%%")


def _calendar(minutes: int) -> str:
    if minutes < 60:
        return f"*-*-* *:00/{minutes}:00"
    return f"*-*-* 00/{minutes // 60}:00:00"


def unit_files(engine: Engine, minutes: int) -> tuple[str, str]:
    """The service and the timer, as written."""
    home = _home(engine)
    env_lines = "".join(
        f"Environment={_systemd_quote(f'{key}={value}')}\n"
        for key, value in _environment(engine).items()
    )
    exec_start = " ".join(_systemd_quote(part, exec_line=True) for part in _command(engine))
    # The database gone (a disconnect wiped the folder): the run is skipped, nothing recreated.
    condition = _unquoted(str(engine.settings.db_path.expanduser().absolute()))
    service = (
        f"{MARKER}\n"
        f"[Unit]\nDescription=mirakl-woo sync of the data folder {_unquoted(str(home))}\n"
        f"ConditionPathExists={condition}\n\n"
        f"[Service]\nType=oneshot\n{env_lines}ExecStart={exec_start}\n"
    )
    delay = min(minutes * 60 // 5, 3600)
    timer = (
        f"{MARKER}\n# every {format_every(minutes)}\n"
        f"[Unit]\nDescription=mirakl-woo sync every {format_every(minutes)}\n\n"
        f"[Timer]\nOnCalendar={_calendar(minutes)}\nPersistent=true\n"
        f"RandomizedDelaySec={delay}\n\n"
        f"[Install]\nWantedBy=timers.target\n"
    )
    return service, timer


def cron_line(engine: Engine, minutes: int) -> str:
    """The crontab line for the same run; its minute is spread by the folder's digest."""
    offset = int(hashlib.sha256(str(_home(engine)).encode()).hexdigest()[:8], 16)
    if minutes < 60:
        when = f"{offset % minutes}-59/{minutes} * * * *"
    else:
        hours = minutes // 60
        when = f"{offset % 60} {(offset // 60) % hours}-23/{hours} * * *"
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in _environment(engine).items())
    command = " ".join(shlex.quote(part) for part in _command(engine))
    db = shlex.quote(str(engine.settings.db_path.expanduser().absolute()))
    line = f"{when} test -e {db} && {env} {command} >/dev/null"
    return line.replace("%", "\\%")  # cron turns a bare % into a line break


def _systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """`systemctl --user ARGS`, or None when there is no systemctl at all."""
    program = shutil.which("systemctl")
    if program is None:
        return None
    try:
        return subprocess.run(
            [program, "--user", *args],
            capture_output=True,
            text=True,
            timeout=_SYSTEMCTL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def systemd_available() -> bool:
    """A systemd user instance answers (there is none in most containers, or over `su`)."""
    answer = _systemctl("show-environment")
    return answer is not None and answer.returncode == 0


def _check(
    answer: subprocess.CompletedProcess[str] | None,
    what: str,
    hint: str = "Nothing was left installed; see `systemctl --user status`.",
) -> None:
    if answer is None or answer.returncode != 0:
        said = (answer.stderr or answer.stdout).strip().splitlines() if answer else []
        detail = f": {said[0][:200]}" if said else ""
        raise ScheduleFailed(f"`systemctl --user {what}` failed{detail}.", hint)


def _ours(path: Path) -> bool:
    """Written by `schedule install` (an unreadable file is not taken for ours)."""
    try:
        return path.read_text(encoding="utf-8").startswith(MARKER)
    except (OSError, UnicodeDecodeError):
        return False


@dataclass(frozen=True)
class Installed:
    """What `schedule install` did: `kind` "systemd" (files written, timer enabled) or
    "cron" (the line printed, nothing installed)."""

    kind: str
    every: str
    unit: str | None = None
    files: tuple[str, ...] = ()
    cron_line: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "files": list(self.files)}


def install(engine: Engine, every: str) -> Installed:
    minutes = parse_every(every)
    if not systemd_available():
        line = cron_line(engine, minutes)
        store = engine.peek_store()  # remembered for `status`; a fresh folder stays unmade
        if store is not None:
            store.set_setting(SETTING, {"kind": "cron", "every": format_every(minutes)})
        return Installed("cron", format_every(minutes), cron_line=line)
    service_path, timer_path = _paths(engine)
    for path in (service_path, timer_path):
        if path.exists() and not _ours(path):
            raise ScheduleFailed(
                f"{path} exists and was not written by mirakl-woo: it is left alone.",
                "Move it aside, then try again.",
            )
    before = {path: path.read_text(encoding="utf-8") if path.exists() else None
              for path in (service_path, timer_path)}  # fmt: skip
    service, timer = unit_files(engine, minutes)
    name = unit_name(engine)
    service_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        service_path.write_text(service, encoding="utf-8")
        timer_path.write_text(timer, encoding="utf-8")
        _check(_systemctl("daemon-reload"), "daemon-reload")
        _check(_systemctl("enable", f"{name}.timer"), f"enable {name}.timer")
        _check(_systemctl("restart", f"{name}.timer"), f"restart {name}.timer")
    except BaseException:
        for path, text in before.items():  # put back what was there: nothing half-made
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")
        if before[timer_path] is None:
            _systemctl("disable", f"{name}.timer")
        _systemctl("daemon-reload")
        raise
    store = engine.peek_store()
    if store is not None and store.get_setting(SETTING) is not None:
        store.set_setting(SETTING, None)
    return Installed(
        "systemd",
        format_every(minutes),
        unit=f"{name}.timer",
        files=(str(service_path), str(timer_path)),
    )


@dataclass(frozen=True)
class Removed:
    """What `schedule remove` undid: the files it deleted, or the cron line it forgot."""

    files: tuple[str, ...] = ()
    cron_forgotten: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"files": list(self.files), "cron_forgotten": self.cron_forgotten}


def remove(engine: Engine) -> Removed:
    files = remove_timer(engine)
    store = engine.peek_store()
    forgotten = store is not None and store.get_setting(SETTING) is not None
    if forgotten and store is not None:
        store.set_setting(SETTING, None)
    return Removed(files=files, cron_forgotten=forgotten)


def remove_timer(engine: Engine) -> tuple[str, ...]:
    """Disable the timer `install` made for this data folder and delete its two files (the
    paths deleted; none when there were none). Needs no database: it runs after a wipe."""
    service_path, timer_path = _paths(engine)
    name = unit_name(engine)
    ours = [path for path in (service_path, timer_path) if _ours(path)]
    if ours:
        if systemd_available():
            _check(
                _systemctl("disable", "--now", f"{name}.timer"),
                f"disable --now {name}.timer",
                "The timer is left as it was; try again, or see `systemctl --user status`.",
            )
        else:  # no user instance now: undo by hand the link `enable` made
            link = unit_dir() / "timers.target.wants" / f"{name}.timer"
            if link.is_symlink():
                link.unlink()
        for path in ours:
            path.unlink(missing_ok=True)
        if systemd_available():
            _systemctl("daemon-reload")
    return tuple(str(path) for path in ours)


def _next_run(name: str) -> str | None:
    answer = _systemctl("show", f"{name}.timer", "--property=NextElapseUSecRealtime")
    if answer is None or answer.returncode != 0:
        return None
    for line in answer.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() != "NextElapseUSecRealtime":
            continue
        value = value.strip()
        if value in ("", "0", "n/a"):
            return None
        number = value.lstrip("@")
        if number.isdigit():  # "@seconds" (--timestamp=unix) or plain microseconds
            seconds = int(number) if value.startswith("@") else int(number) / 1_000_000
            return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
        return value  # systemd's own wording of the time, e.g. "Tue 2024-01-02 10:15:00 UTC"
    return None


def installed(engine: Engine) -> Literal["systemd", "cron"] | None:
    """What schedules `sync` for this data folder: the systemd timer (its files are there),
    a cron line (printed, so installed by hand), or nothing. Cheap: one file read and no
    systemctl, for the Disconnect dialog to say while it opens."""
    if _ours(_paths(engine)[1]):
        return "systemd"
    store = engine.peek_store()
    record = store.get_setting(SETTING) if store is not None else None
    return "cron" if isinstance(record, dict) and record.get("kind") == "cron" else None


def state(engine: Engine) -> dict[str, Any] | None:
    """For `status`: null, or {"kind", "every", "next_run", "detail"}."""
    timer_path = _paths(engine)[1]
    if _ours(timer_path):
        found = re.search(r"^# every (\S+)$", timer_path.read_text(encoding="utf-8"), re.M)
        name = unit_name(engine)
        return {
            "kind": "systemd",
            "every": found.group(1) if found else None,
            "next_run": _next_run(name),
            "detail": f"systemd user timer {name}.timer",
        }
    store = engine.peek_store()
    record = store.get_setting(SETTING) if store is not None else None
    if isinstance(record, dict) and record.get("kind") == "cron":
        return {
            "kind": "cron",
            "every": record.get("every"),
            "next_run": None,
            "detail": "cron line printed, not installed",
        }
    return None
