"""Where long work runs: a runner, never the app's own loop.

A CLI command is a runner itself. The app starts one for every job: a process of its own
(`python -m connector.cli sync`, in a session of its own, so a closed terminal does not stop
it), or, for an engine whose clients reach mounted ASGI apps (the tests), a task in this
process running the same service on a sibling engine. Either way the app only reads the
journal; a `Runner` tells it whether the runner still lives, how it ended, and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from connector.engine import Engine
from connector.errors import ConnectorError, clean
from connector.events import OnEvent, ignore

#: What the runner's process exits with when a job stopped part-way (resumable).
STOPPED = 5


def runner_argv(kind: str, option: str | None = None) -> list[str]:
    """The CLI words that run job `kind`: `sync`, `disconnect` (with its option) or `resume`."""
    if kind == "sync":
        return ["sync"]
    if kind == "disconnect":
        from connector.services.disconnect import CONFIRM_WORD

        if option is None:
            raise ValueError("a disconnect runner needs its catalog option")
        return ["disconnect", "--catalog", option, "--confirm", CONFIRM_WORD]
    if kind == "resume":
        return ["jobs", "resume"]
    raise ValueError(f"no runner for {kind!r}")


async def run_job(
    engine: Engine, kind: str, option: str | None = None, on_event: OnEvent = ignore
) -> dict[str, Any]:
    """What the runner of `runner_argv(kind, option)` does, in this process."""
    if kind == "sync":
        from connector.services.sync import run_sync

        return (await run_sync(engine, on_event=on_event)).to_dict()
    if kind == "disconnect":
        from connector.services.disconnect import CONFIRM_WORD, run_disconnect

        assert option is not None
        return (await run_disconnect(engine, option, CONFIRM_WORD, on_event=on_event)).to_dict()
    from connector.services.background import resume

    return await resume(engine, on_event=on_event)


class Runner(Protocol):
    """A runner this process started."""

    pid: int | None  # its process (None: a task of this process)

    def alive(self) -> bool: ...

    @property
    def exit_code(self) -> int | None:
        """How it ended (0 done, 5 stopped part-way, …); None while it runs or if unknown."""

    @property
    def failure(self) -> str | None:
        """Its one-line reason when it ended with an error, as the merchant should read it."""

    def stop(self) -> bool:
        """Ask it to stop where it is (the job stays resumable); False if it had ended."""

    def result(self) -> dict[str, Any] | None:
        """What the job returned (a sync report, a disconnect receipt), once it ended well."""

    def forget(self) -> None:
        """This process stops following it (it may go on): drop what was kept for it."""


class ProcessRunner:
    """A runner process: `spawn` starts one in a new session, detached from the terminal.
    Its `--json` result goes to a private file outside the data folder (a disconnect wipes
    that folder), read once it exited; its messages go to `runner.out` in the log folder."""

    def __init__(self, pid: int, output: Path, result_file: Path | None = None) -> None:
        self.pid: int | None = pid
        self.output = output
        self.result_file = result_file
        self._code: int | None = None
        self._ended = False

    @classmethod
    def spawn(cls, engine: Engine, argv: Sequence[str]) -> ProcessRunner:
        import tempfile

        from connector.services.background import spawn_runner

        folder = Path(tempfile.mkdtemp(prefix="mirakl-woo-runner-"))  # 0700, ours alone
        result_file = folder / "result.json"
        try:
            pid = spawn_runner(engine, [*argv, "--json"], result_file=result_file)
        except BaseException:
            result_file.unlink(missing_ok=True)
            folder.rmdir()
            raise
        return cls(pid, engine.settings.log_dir / "runner.out", result_file)

    def result(self) -> dict[str, Any] | None:
        if self.result_file is None or self.alive() or self._code != 0:
            return None
        import json

        try:
            text = self.result_file.read_text(encoding="utf-8")
            data = json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def forget(self) -> None:
        """Remove the result file (a runner still writing keeps its open file; it is
        gone from the disk either way) and its folder."""
        if self.result_file is None:
            return
        self.result_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.result_file.parent.rmdir()
        self.result_file = None

    def alive(self) -> bool:
        if self._ended:
            return False
        from connector.services.journal_watch import spawned_runner_alive

        assert self.pid is not None
        alive, code = spawned_runner_alive(self.pid)
        if not alive:
            self._ended, self._code = True, code
        return alive

    @property
    def exit_code(self) -> int | None:
        return self._code

    @property
    def failure(self) -> str | None:
        if self._code in (None, 0, STOPPED):
            return None
        return last_error_line(self.output)

    def stop(self) -> bool:
        if not self.alive():
            return False
        assert self.pid is not None
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True


def last_error_line(path: Path) -> str | None:
    """The line a runner said it failed with (`mirakl-woo: …` on its stderr), if any."""
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 8192))
            tail = file.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if line.startswith("mirakl-woo: "):
            return clean(line.removeprefix("mirakl-woo: "))
    return None


class TaskRunner:
    """The same runner as a task of this process, on a sibling engine (the tests)."""

    pid: int | None = None

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task

    @classmethod
    def start(cls, engine: Engine, kind: str, option: str | None = None) -> TaskRunner:
        async def run() -> dict[str, Any]:
            sibling = engine.sibling()
            try:
                return await run_job(sibling, kind, option)
            finally:
                sibling.close()

        task = asyncio.get_running_loop().create_task(run(), name=f"runner:{kind}")
        # How it ended is read from the journal (and `failure`): never "never retrieved".
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return cls(task)

    def alive(self) -> bool:
        return not self.task.done()

    def _error(self) -> BaseException | None:
        if not self.task.done():
            return None
        if self.task.cancelled():
            return asyncio.CancelledError()
        return self.task.exception()

    @property
    def exit_code(self) -> int | None:
        if not self.task.done():
            return None
        error = self._error()
        if error is None:
            return 0
        if isinstance(error, ConnectorError):
            return error.exit_code
        return STOPPED if isinstance(error, asyncio.CancelledError) else 1

    @property
    def failure(self) -> str | None:
        error = self._error()
        if error is None or isinstance(error, asyncio.CancelledError):
            return None
        if isinstance(error, ConnectorError):
            return error.one_line()
        return clean(f"unexpected error ({type(error).__name__}: {str(error)[:200]})")

    def stop(self) -> bool:
        if self.task.done():
            return False
        self.task.cancel()
        return True

    def result(self) -> dict[str, Any] | None:
        if not self.task.done() or self._error() is not None:
            return None
        result = self.task.result()
        return result if isinstance(result, dict) else None

    def forget(self) -> None:
        pass


def start_runner(engine: Engine, kind: str, option: str | None = None) -> Runner:
    """Start the runner of job `kind`: a process, or a task for an in-process engine."""
    if engine.in_process:
        return TaskRunner.start(engine, kind, option)
    return ProcessRunner.spawn(engine, runner_argv(kind, option))
