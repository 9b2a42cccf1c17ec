"""The app in a real terminal: tmux runs it in a detached 80×24 pane on a private server.

Keys go in with `send-keys`, the screen comes back with `capture-pane -p` (plain text, what a
user reads). Every session lives on its own tmux server (`-L <unique>`, `-f /dev/null`), so a
test never reads a user's tmux configuration nor touches their sessions; the server is killed
in teardown whatever happened.

tmux is required: without it these tests fail (CI must never be green by skipping them).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
WIDTH, HEIGHT = 80, 24
POLL = 0.05
#: The terminals the app must be usable in (issue 5).
TERMS = ("xterm-256color", "screen-256color", "linux")
#: Variables of the test runner's own terminal that must not leak into the pane.
_TERMINAL_VARS = ("TMUX", "TMUX_PANE", "COLORTERM", "NO_COLOR", "TERM_PROGRAM", "COLUMNS", "LINES")


def require_tmux() -> str:
    """The tmux binary, or a loud failure (never a skip)."""
    if TMUX is None:
        pytest.fail(
            "tmux is not installed: the real-terminal tests cannot run. Install it "
            "(apt-get install tmux; .ci/run does this) - these tests are never skipped.",
            pytrace=False,
        )
    return TMUX


def app_command(*args: str) -> str:
    """`exec <this venv's python> -m tui.main <args>` for a pane (exec: the pane's pid is
    the app's pid)."""
    return "exec " + shlex.join([sys.executable, "-m", "tui.main", *args])


class Terminal:
    """One tmux server with one session whose single pane runs `command`."""

    def __init__(self, workdir: Path) -> None:
        self.tmux = require_tmux()
        self.socket = f"mwt-{uuid.uuid4().hex[:12]}"
        self.session = "app"
        self.workdir = workdir
        self.last_screen = ""
        self.pid: int | None = None

    # tmux plumbing ---------------------------------------------------------------------

    def _run(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=_tmux_env(env if env is not None else os.environ),
            timeout=10,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def start(
        self,
        command: str,
        *,
        env: Mapping[str, str],
        term: str = "xterm-256color",
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> Terminal:
        """Start the server and the session; `env` is the pane's whole environment.

        tmux sets TERM in a pane from its `default-terminal` option (an `-e TERM=…` is
        overridden), so the option is set in the server's own config file.
        """
        config = self.workdir / f"{self.socket}.conf"
        config.write_text(
            f"set -g default-terminal {shlex.quote(term)}\n"
            # Keep a crashed app's last screen (a traceback) readable for the failure message.
            "set -g remain-on-exit on\n"
            "set -g status off\n"
            "set -sg escape-time 0\n"
        )
        self._run(
            "-f",
            str(config),
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(width),
            "-y",
            str(height),
            "-c",
            str(self.workdir),
            command,
            env=env,
        )
        self.pid = int(self.display("#{pane_pid}"))
        return self

    def display(self, fmt: str) -> str:
        return self._run("display-message", "-p", "-t", self.session, fmt).strip()

    def alive(self) -> bool:
        """The app still runs in the pane."""
        return self.display("#{pane_dead}") == "0"

    def send(self, *keys: str, settle: bool = True) -> None:
        """Keys by tmux name (`Enter`, `Tab`, `Down`, `Space`, `BSpace`, `C-q`, `a`), one
        `send-keys` each, then `settle()`: the app has dealt with them before the next ones.

        Textual hands a key to the widget focused when the key is read; a key typed ahead of
        a focus change (Tab) would still go to the old widget. A person types slower than
        that; the test waits like one. `settle=False` when what follows is a wait anyway
        (or the screen keeps moving: a job's progress).
        """
        for key in keys:
            self._run("send-keys", "-t", self.session, key)
            if settle:
                self.settle()

    def send_together(self, *keys: str) -> None:
        """Several keys for the same widget in one `send-keys` (Backspaces in a field)."""
        self._run("send-keys", "-t", self.session, *keys)
        self.settle()

    def type(self, text: str) -> None:
        """Literal text, as a user types it (into one field: no settling in between)."""
        self._run("send-keys", "-t", self.session, "-l", text)
        self.settle()

    def settle(self, quiet: float = 0.15, timeout: float = 3.0) -> None:
        """Wait until the screen, styles included, has not changed for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = self._run("capture-pane", "-e", "-p", "-t", self.session)
        still_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(POLL)
            now = self._run("capture-pane", "-e", "-p", "-t", self.session)
            if now != last:
                last, still_since = now, time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                return

    def screen(self) -> str:
        """What the pane shows now, one line per row, trailing blanks removed."""
        text = self._run("capture-pane", "-p", "-t", self.session)
        lines = [line.rstrip() for line in text.split("\n")][:HEIGHT]
        self.last_screen = "\n".join(lines)
        return self.last_screen

    def wait_until(self, predicate: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        """Poll the screen every 50 ms until `predicate(screen)`; the screen, or a failure
        that shows the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"waited {timeout:g}s for {what}; the screen shows:\n{framed(screen)}"
                )
            time.sleep(POLL)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """Wait until `text` is on screen; returns the screen."""
        return self.wait_until(lambda screen: text in screen, repr(text), timeout)

    def wait_for_all(self, *texts: str, timeout: float = 15.0) -> str:
        return self.wait_until(
            lambda screen: all(t in screen for t in texts), " and ".join(map(repr, texts)), timeout
        )

    def wait_for_line(self, line: str, *texts: str, timeout: float = 15.0) -> str:
        """Wait until a row reads exactly `line` (a screen's heading), and `texts` show."""

        def shown(screen: str) -> bool:
            rows = {row.strip() for row in screen.split("\n")}
            return line in rows and all(text in screen for text in texts)

        return self.wait_until(shown, f"a row {line!r} and {list(texts)}", timeout)

    def wait_gone(self, text: str, timeout: float = 15.0) -> str:
        return self.wait_until(lambda screen: text not in screen, f"{text!r} to go", timeout)

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait until the app has left the pane; its exit status (negative: killed by that
        signal)."""
        deadline = time.monotonic() + timeout
        while self.alive() or (self.pid is not None and not process_gone(self.pid)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the app still runs {timeout:g}s later; the screen shows:\n"
                    f"{framed(self.screen())}"
                )
            time.sleep(POLL)
        status, _, signum = self.display("#{pane_dead_status}:#{pane_dead_signal}").partition(":")
        if status or signum:
            return int(status) if status else -int(signum)
        # tmux has not collected the child yet: the zombie still holds its exit status.
        assert self.pid is not None
        code = zombie_exit_code(self.pid)
        assert code is not None, "the app's exit status is lost"
        return code

    def kill_session(self) -> None:
        """What a dropped SSH session does to the app: the pane's process gets SIGHUP."""
        self._run("kill-session", "-t", self.session, check=False)

    def kill_server(self) -> None:
        self._run("kill-server", check=False)

    def close(self, grace: float = 3.0) -> None:
        """Kill the tmux server; if the app outlives it by `grace` seconds, SIGKILL it (by
        the pid this test started, nothing else) so no test leaves a process behind."""
        self.kill_server()
        # tmux does not always remove its socket when the server ends.
        sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (sockets / self.socket).unlink(missing_ok=True)
        if self.pid is None:
            return
        if not wait_process_gone(self.pid, grace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def framed(screen: str) -> str:
    """The screen between rules, for failure messages."""
    rule = "─" * WIDTH
    return f"{rule}\n{screen}\n{rule}"


def _tmux_env(env: Mapping[str, str]) -> dict[str, str]:
    """tmux refuses to start a session from inside another one while $TMUX is set."""
    return {k: v for k, v in env.items() if k not in ("TMUX", "TMUX_PANE")}


def pane_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runner's environment without its own terminal's variables nor any MIRAKL_WOO_*,
    with the test's data folder and `extra`. The tmux server starts with it, so it is the
    pane's whole environment (plus TERM, from `default-terminal`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MIRAKL_WOO_") and k not in _TERMINAL_VARS
    }
    env["MIRAKL_WOO_HOME"] = str(home)
    env.update(extra or {})
    return env


def process_gone(pid: int) -> bool:
    """No such process any more (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def zombie_exit_code(pid: int) -> int | None:
    """The exit status of a process that has exited but not been collected by its parent
    (`exit_code`, field 52 of /proc/<pid>/stat); None if it is not such a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] != "Z" or len(fields) < 50:
        return None
    return os.waitstatus_to_exitcode(int(fields[49]))


def wait_process_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment has `name=value` (the test's unique data folder)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and not process_gone(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """`terminal(command, env=..., term=...)` starts a session; all are killed afterwards."""
    require_tmux()
    started: list[Terminal] = []

    def start(command: str, *, env: Mapping[str, str], term: str = "xterm-256color") -> Terminal:
        session = Terminal(tmp_path)
        started.append(session)
        return session.start(command, env=env, term=term)

    yield start
    for session in started:
        session.close()


# -- reading a screen as a user does ---------------------------------------------------------


def marks(screen: str, labels: Iterable[str]) -> dict[str, str]:
    """The glyph inside `▐ ▌` in front of each label (`X` ticked, `●` chosen, ` ` not);
    a radio button's label may have the cursor mark `›` (or its place) before it."""
    found = {}
    for label in labels:
        match = re.search(r"▐(.)▌ [ ›]?" + re.escape(label), screen)
        assert match, f"no checkbox or radio button {label!r} on screen:\n{framed(screen)}"
        found[label] = match.group(1)
    return found


def assert_footer(term: Terminal, *bindings: str, timeout: float = 5.0) -> None:
    """Every key action of the screen is listed in the footer line, readable in full (the
    Footer fills in a moment after the rest of the screen)."""

    def listed(screen: str) -> bool:
        return all(binding in screen.rsplit("\n", 1)[-1] for binding in bindings)

    term.wait_until(listed, f"{list(bindings)} in the footer line", timeout)


def toast_text(screen: str) -> str:
    """The text of the notification(s) drawn over the screen's right side, as one line."""
    parts = []
    for line in screen.split("\n"):
        if "▌" in line:
            parts.append(line.rsplit("▌", 1)[1].rstrip(" ▎"))
    return " ".join(" ".join(parts).split())


def receipt_text(screen: str) -> str:
    """The receipt screen's words as one line (box borders and line breaks dropped)."""
    return " ".join(screen.replace("│", " ").split())


def spaced(n: int) -> str:
    """`3,029`: how every screen writes counts."""
    return f"{n:,}"


def cli(env: Mapping[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The headless CLI, as a script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tui.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=60,
    )


def connect_headless(env: Mapping[str, str], woo_url: str) -> None:
    """Headless, as a script would: both accounts (the sandboxes' demo credentials) and
    Sync Product on; nothing pushed yet."""
    from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    mirakl = cli(env, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID, stdin=DEMO_CLIENT_SECRET)
    assert mirakl.returncode == 0, mirakl.stderr
    woo = cli(
        {**env, "MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET},
        "connect", "woocommerce", "--url", woo_url, "--consumer-key", DEMO_CONSUMER_KEY,
    )  # fmt: skip
    assert woo.returncode == 0, woo.stderr
    assert cli(env, "settings", "set", "sync_products", "on").returncode == 0
