"""Cold start: time from exec to the first frame of the Overview screen of `mirakl-woo`, and
to the first frame of a bare Textual app with one Label, measured in one run; the ratio.

Each program runs in a pseudo-terminal of 80×24 (`pty.fork`, `TERM=xterm-256color`); the
clock starts just before the fork and stops when the terminal output holds a text that is
only drawn once the screen is painted ("Overview" for the app, the label's text for the bare
app). Then the program is killed. Runs alternate (bare, app, bare, app, …) after one untimed
warm-up of each (so neither pays for writing `.pyc` files); medians are reported.

The app opens on a data folder connected (before timing, through the CLI) to both sandboxes,
which run in a process of their own and stay idle: the Overview reads only the local store.

Also prints the ten most expensive imports of `import tui.app` (`python -X importtime`,
cumulative µs) and flags any heavy module (httpx, the sandbox, …) on that path.

    .venv/bin/python benchmarks/cold_start.py [--runs 7] [--quick]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    SandboxProcess,
    connect_both,
    emit,
    note,
    temp_home,
)

SIZE = (80, 24)
OVERVIEW_MARKER = "Overview"
BARE_MARKER = "Bare Textual app is ready"
BARE_APP = f"""
from textual.app import App, ComposeResult
from textual.widgets import Label


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Label({BARE_MARKER!r})


Bare().run()
"""
#: Modules that must stay off the path to the first frame (issue 5).
HEAVY = ("httpx", "httpcore", "anyio", "starlette", "uvicorn", "connector.sandbox",
         "connector.clients", "tenacity", "oauthlib")
# Colours and attributes only: cursor moves are kept, so a marker never spans two places.
_SGR = re.compile(rb"\x1b\[[0-9;:]*m")


def app_command() -> list[str]:
    """`mirakl-woo` as installed next to this interpreter, else `python -m tui.main`."""
    script = Path(PYTHON).with_name("mirakl-woo")
    return [str(script)] if script.exists() else [PYTHON, "-m", "tui.main"]


def terminal_env(base: dict[str, str], pycache: Path) -> dict[str, str]:
    """A plain xterm-256color of 80×24. Bytecode is cached (in `pycache`, not in the source
    tree) as in an installed copy: with PYTHONDONTWRITEBYTECODE every start would compile our
    modules again, a cost no user pays."""
    env = {k: v for k, v in base.items()
           if k not in ("COLORTERM", "NO_COLOR", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE")
           and not k.startswith("TEXTUAL")}
    env.update(TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]),
               PYTHONPYCACHEPREFIX=str(pycache))
    return env


def time_to_marker(argv: list[str], env: dict[str, str], marker: str,
                   timeout: float = 60.0) -> float:
    """Seconds from exec until `marker` appears in the program's terminal output."""
    wanted = marker.encode()
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal, become the program
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output = bytearray()
    try:
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"no {marker!r} after {timeout} s: {bytes(output[-600:])!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # EIO: the program exited
                chunk = b""
            if not chunk:
                raise RuntimeError(f"exited before {marker!r}: {bytes(output[-600:])!r}")
            output += chunk
            if wanted in _SGR.sub(b"", bytes(output)):
                return time.perf_counter() - start
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")
BARE_IMPORTS = "from textual.app import App; from textual.widgets import Label"
APP_IMPORTS = "import tui.main, connector.cli, tui.launch, tui.app"  # what `mirakl-woo` imports


@dataclass
class Imported:
    """One line of `-X importtime`; `importer` is the module whose import ran this one."""

    module: str
    cumulative_us: int
    self_us: int
    importer: str | None


def importtime(env: dict[str, str], code: str) -> list[Imported]:
    """`python -X importtime -c CODE`, run twice (the first run fills the bytecode cache)."""
    argv = [PYTHON, "-X", "importtime", "-c", code]
    for _ in range(2):
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                check=True)
    rows: list[tuple[int, str, int, int]] = []
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            rows.append(((len(indent) - 1) // 2, name, int(cumulative_us), int(self_us)))
    imported = []
    for index, (depth, name, cumulative_us, self_us) in enumerate(rows):
        # importtime prints a module after what it imported, one level deeper.
        importer = next((n for d, n, _, _ in rows[index + 1:] if d == depth - 1), None)
        imported.append(Imported(name, cumulative_us, self_us, importer))
    return imported


def _row(item: Imported) -> str:
    via = f", imported by {item.importer}" if item.importer else ""
    return (f"{item.module}: {item.cumulative_us / 1000:.1f} ms cumulative, "
            f"{item.self_us / 1000:.1f} ms self{via}")


def import_profile(env: dict[str, str], top: int = 10) -> dict[str, object]:
    """The costliest imports of `import tui.app` (cumulative), and the ones `mirakl-woo`
    pays for beyond what the bare app imports, so the expensive import is named."""
    app = importtime(env, "import tui.app")
    ranked = sorted((i for i in app if i.module != "tui.app"),
                    key=lambda i: i.cumulative_us, reverse=True)
    bare = {i.module for i in importtime(env, BARE_IMPORTS)}
    path = importtime(env, APP_IMPORTS)
    ours = ("connector", "tui")
    # Outside our own packages, only the outermost new import of each chain.
    extra = sorted(
        (i for i in path
         if i.module not in bare and i.module.split(".")[0] not in ours
         and (i.importer is None or i.importer in bare or i.importer.split(".")[0] in ours)),
        key=lambda i: i.cumulative_us, reverse=True,
    )
    first_party = sorted((i for i in path if i.module.split(".")[0] in ours),
                         key=lambda i: i.self_us, reverse=True)
    heavy = sorted({i.module for i in path
                    if i.module in HEAVY or i.module.startswith(tuple(h + "." for h in HEAVY))})
    return {
        "command": f"{PYTHON} -X importtime -c 'import tui.app'",
        "tui_app_cumulative_ms": next(
            (round(i.cumulative_us / 1000, 1) for i in app if i.module == "tui.app"), None),
        "top": [_row(i) for i in ranked[:top]],
        "beyond_bare_app": {
            "compared": f"-c '{APP_IMPORTS}' against -c '{BARE_IMPORTS}'",
            "modules": len([i for i in path if i.module not in bare]),
            "self_ms": round(sum(i.self_us for i in path if i.module not in bare) / 1000, 1),
            "third_party_and_stdlib": [_row(i) for i in extra[:top]],
            "ours_by_self_time": [_row(i) for i in first_party[:top]],
        },
        "heavy_on_path": heavy,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each program")
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs

    overview_s: list[float] = []
    bare_s: list[float] = []
    app_argv = app_command()
    bare_argv = [PYTHON, "-c", BARE_APP]
    with SandboxProcess(catalog_size=50, interval=0.01) as sandbox, temp_home("cold") as home:
        assert sandbox.endpoints is not None
        note(f"connecting both accounts in {home} (not timed)")
        connect_both(sandbox.endpoints, home)
        env = terminal_env(sandbox.endpoints.env(home), home.parent / "pycache")
        note("warm-up: one start of each, fills the bytecode cache (not timed)")
        time_to_marker(bare_argv, env, BARE_MARKER)
        time_to_marker(app_argv, env, OVERVIEW_MARKER)
        for run in range(runs):
            bare_s.append(time_to_marker(bare_argv, env, BARE_MARKER))
            overview_s.append(time_to_marker(app_argv, env, OVERVIEW_MARKER))
            note(f"run {run + 1}/{runs}: bare {bare_s[-1] * 1000:.0f} ms, "
                 f"overview {overview_s[-1] * 1000:.0f} ms")
        note("import profile of tui.app")
        imports = import_profile(env)

    overview_ms = statistics.median(overview_s) * 1000
    bare_ms = statistics.median(bare_s) * 1000
    emit({
        "overview_ms": round(overview_ms, 1),
        "bare_ms": round(bare_ms, 1),
        "ratio": round(overview_ms / bare_ms, 3),
        "runs": runs,
        "target_ratio": 1.2,
        "overview_samples_ms": [round(s * 1000, 1) for s in overview_s],
        "bare_samples_ms": [round(s * 1000, 1) for s in bare_s],
        "app_command": " ".join(app_argv),
        "terminal": {"TERM": "xterm-256color", "size": list(SIZE)},
        "markers": {"overview": OVERVIEW_MARKER, "bare": BARE_MARKER},
        "imports": imports,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
