"""The engine never imports Textual, and headless commands never pay for it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import connector


def _engine_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(connector.__path__, prefix="connector.")
        if not info.name.endswith("__main__")
    )


@pytest.mark.parametrize("module", _engine_modules())
def test_engine_module_does_not_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m == 'textual' or m.startswith(('textual.', 'tui')))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("argv", [["status"], ["status", "--json"]])
def test_headless_command_does_not_import_textual(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from connector.cli import main\n"
        f"code = main({argv!r})\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
