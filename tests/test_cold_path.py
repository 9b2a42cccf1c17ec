"""Fast start: the heavy modules (HTTP client, sandbox servers, API clients) stay off the path
to the first frame, so opening the app costs about what a bare Textual app costs.

Each check runs in a fresh interpreter: this test process has imported everything already.
On failure the message names the import chain that brought the module in (from
`python -X importtime`), e.g. `tui.app <- connector.services.status <- connector.clients`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Not needed to draw the first frame; each costs milliseconds (most tens of them) to import.
HEAVY = (
    "httpx", "httpcore", "starlette", "uvicorn", "connector.sandbox", "connector.clients",
    "argparse",
)  # fmt: skip


def _python(code: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if home is not None:
        env["MIRAKL_WOO_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", textwrap.dedent(code)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def _is_heavy(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in HEAVY)


def _chains(importtime: str) -> list[str]:
    """`heavy <- importer <- … <- top` for each outermost heavy import, from -X importtime.

    importtime prints a module after everything it imported, one level deeper each; the
    importer of a line is the next line below it one level up.
    """
    rows = []
    for line in importtime.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.split("|")[2]
            rows.append(((len(name) - len(name.lstrip())) // 2, name.strip()))
    chains: list[str] = []
    for index, (depth, name) in enumerate(rows):
        if not _is_heavy(name):
            continue
        chain, want = [name], depth - 1
        for later_depth, later in rows[index + 1:]:
            if later_depth == want:
                chain.append(later)
                want -= 1
        text = " <- ".join(chain)
        # The outermost heavy import of each chain only (not httpx's own submodules).
        if not any(_is_heavy(m) for m in chain[1:]) and text not in chains:
            chains.append(text)
    return chains


def _heavy_loaded(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = result.stdout.split()
    return [m for m in loaded if _is_heavy(m)]


def test_importing_the_app_leaves_heavy_modules_out() -> None:
    result = _python(
        """
        import sys
        import tui.main, tui.app
        print(*sorted(sys.modules))
        """
    )
    heavy = _heavy_loaded(result)
    assert not heavy, "`import tui.app` loads " + ", ".join(heavy) + "; chains:\n" + "\n".join(
        _chains(result.stderr)
    )
    # What only a running job needs waits for one (the sync view loads it after the frame).
    later = {"connector.events", "tui.widgets.job_progress"} & set(result.stdout.split())
    assert not later, f"`import tui.app` loads {sorted(later)}"


def test_the_overview_is_drawn_without_heavy_modules(tmp_path: Path) -> None:
    """The whole way to the Overview of a connected data folder: the launcher's imports,
    routing, the screen's mount. The accounts are connected beforehand in another process
    (that one needs the sandbox and httpx)."""
    home = tmp_path / "home"
    setup = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            """
            import asyncio, sys
            from pathlib import Path
            from tests.sandboxes import make_world
            world = make_world(Path(sys.argv[1]), catalog_size=5)
            asyncio.run(world.connect())
            world.engine.close()
            """
        ), str(home)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert setup.returncode == 0, setup.stderr[-3000:]

    result = _python(
        """
        import asyncio, sys
        import tui.main, connector.cli, tui.launch  # what `mirakl-woo` imports before the app
        from connector.engine import Engine
        from tui.app import MiraklWooApp

        async def first_frame() -> None:
            app = MiraklWooApp(Engine.from_env())
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                assert type(app.screen).__name__ == "OverviewScreen", app.screen
                print(*sorted(sys.modules))
            app.engine.close()

        asyncio.run(first_frame())
        """,
        home=home,
    )
    heavy = _heavy_loaded(result)
    assert not heavy, (
        "opening the Overview loads " + ", ".join(heavy) + "; chains:\n"
        + "\n".join(_chains(result.stderr))
    )
    # Only a sync reads the seller's catalog; the Overview's counts come from the store.
    assert "connector.services.inventory" not in result.stdout.split()


def test_the_collector_waits_for_the_first_frame(tmp_path: Path) -> None:
    """`mirakl-woo` with no command turns the garbage collector off for the start (Textual's
    import and the first screen make tens of thousands of lasting objects); the app freezes
    them and turns it back on once its first frame is drawn."""
    result = _python(
        """
        import asyncio, gc
        import tui.launch, tui.main
        from connector.engine import Engine
        from tui.app import MiraklWooApp

        seen = {}

        def run_app() -> int:
            seen["launch"] = gc.isenabled()

            async def first_frame() -> None:
                app = MiraklWooApp(Engine.from_env())
                async with app.run_test(size=(80, 24)) as pilot:
                    while not app.first_frame_shown:
                        await pilot.pause(0.01)
                    seen["first frame"] = gc.isenabled()
                    seen["frozen"] = gc.get_freeze_count() > 0
                app.engine.close()

            asyncio.run(first_frame())
            return 0

        tui.launch.run_app = run_app
        tui.main.main([])
        seen["after"] = gc.isenabled()
        print(seen)
        """,
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = result.stdout.strip().splitlines()[-1]
    assert seen == "{'launch': False, 'first frame': True, 'frozen': True, 'after': True}"
