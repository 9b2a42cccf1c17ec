"""The layers hold: the engine never imports Textual nor the app, screens reach the engine
through its services, and headless commands never pay for Textual."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import connector

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    """The contracts in pyproject.toml, checked statically: a lazy import inside a function
    breaks them as surely as one at the top of a module."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter is a test dependency (pip install -e '.[test]')"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout, result.stdout[-2000:]


def test_importing_every_engine_module_loads_no_textual() -> None:
    """At run time too (an `importlib` call would escape the static check)."""
    modules = sorted(
        info.name
        for info in pkgutil.walk_packages(connector.__path__, prefix="connector.")
        if not info.name.endswith("__main__")
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m == 'textual' or m.startswith(('textual.', 'tui')))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(modules) > 20  # the walk found the engine


def run_without_textual(entry: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`main(argv)` of module `entry` in a fresh interpreter; it fails if Textual got loaded."""
    code = (
        "import sys\n"
        f"from {entry} import main\n"
        f"code = main({argv!r})\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize("entry", ["connector.cli", "tui.main"])
@pytest.mark.parametrize("argv", [["status"], ["status", "--json"]])
def test_headless_command_does_not_import_textual(entry: str, argv: list[str]) -> None:
    """`mirakl-woo status` goes through the entry point above both faces without Textual."""
    result = run_without_textual(entry, argv)
    assert result.returncode == 0, result.stderr


def test_engine_entry_point_does_not_open_the_app() -> None:
    """`python -m connector.cli` (what a runner is started with) runs headless commands only:
    asked for the app it says how to open it, exit 2, without importing Textual."""
    result = run_without_textual("connector.cli", [])
    assert result.returncode == 2, result.stderr
    assert "mirakl-woo" in result.stderr and len(result.stderr.strip().splitlines()) == 1
