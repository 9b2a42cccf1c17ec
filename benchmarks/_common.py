"""Shared by the benchmark scripts: the connector driven through its CLI in subprocesses, a
fresh data folder per run, the sandbox either in a thread (to read its call log) or in its own
process (so it never shares the measured process). Loopback only."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py`: make `connector` importable
    sys.path.insert(0, str(ROOT))

from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET  # noqa: E402
from connector.sandbox.woocommerce import (  # noqa: E402
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
)


def emit(data: dict[str, Any]) -> None:
    """The benchmark's figures: one JSON document on stdout."""
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """Progress for the person waiting, on stderr (stdout stays pure JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Endpoints:
    """Where the sandboxes listen (always 127.0.0.1) and the interval they enforce."""

    auth_url: str
    api_url: str
    woo_url: str
    interval: float

    def env(self, home: Path) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")
        }
        env.update(
            MIRAKL_WOO_HOME=str(home),
            MIRAKL_WOO_AUTH_URL=self.auth_url,
            MIRAKL_WOO_API_URL=self.api_url,
            MIRAKL_WOO_MIN_INTERVAL=repr(self.interval),
            PYTHONPATH=str(ROOT),
        )
        return env


def endpoints_of(servers: Any) -> Endpoints:
    """From an in-process `SandboxServers`."""
    return Endpoints(servers.auth_url, servers.api_url, servers.woo_url, servers.interval)


@contextmanager
def temp_home(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"mirakl-woo-bench-{prefix}-") as folder:
        yield Path(folder) / "home"


def cli(endpoints: Endpoints, home: Path, *args: str, stdin: str = "",
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m connector.cli ARGS` against the sandbox; raises with stderr on failure."""
    env = endpoints.env(home)
    env.update(extra_env or {})
    result = subprocess.run(
        [PYTHON, "-m", "connector.cli", *args],
        input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`mirakl-woo {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def connect_both(endpoints: Endpoints, home: Path) -> None:
    """Both accounts through the CLI (secrets on stdin / in the environment), then Sync
    Product switched on in the same data folder."""
    cli(endpoints, home, "connect", "mirakl", "--client-id", DEMO_CLIENT_ID,
        stdin=DEMO_CLIENT_SECRET + "\n")
    cli(endpoints, home, "connect", "woocommerce", "--url", endpoints.woo_url,
        "--consumer-key", DEMO_CONSUMER_KEY,
        extra_env={"MIRAKL_WOO_CONSUMER_SECRET": DEMO_CONSUMER_SECRET})
    enable_sync(home, endpoints)


def connected_engine(endpoints: Endpoints, home: Path) -> Any:
    """Both accounts connected in `home` (not timed), this process pointed at that data folder
    and those servers (as the app would be), and an Engine on it."""
    from connector.engine import Engine

    note(f"connecting both accounts in {home} (not timed)")
    connect_both(endpoints, home)
    os.environ.update(
        {k: v for k, v in endpoints.env(home).items() if k.startswith("MIRAKL_WOO_")}
    )
    return Engine.from_env()


def enable_sync(home: Path, endpoints: Endpoints) -> None:
    from connector.engine import Engine
    from connector.product_options import ProductOptions
    from connector.services.sync import save_options
    from connector.settings import Settings

    engine = Engine(Settings(home=home, auth_url=endpoints.auth_url, api_url=endpoints.api_url,
                             min_interval=endpoints.interval))
    try:
        save_options(engine, ProductOptions(sync_products=True))
    finally:
        engine.close()


def linked_count(home: Path) -> int:
    from connector.settings import Settings
    from connector.store import Store

    with Store(Settings(home=home).db_path) as store:
        return store.linked_count()


_URL_LINE = re.compile(r"^\s*(Mirakl Connect token URL|Mirakl Connect API URL|"
                       r"WooCommerce store URL)\s+(\S+)")


class SandboxProcess:
    """`mirakl-woo sandbox` in its own process (ports picked by the OS, read from its output)."""

    def __init__(self, catalog_size: int, interval: float,
                 command: list[str] | None = None, *, woo_latency: float = 0.0) -> None:
        self.catalog_size = catalog_size
        self.interval = interval
        self.command = command or [
            PYTHON, "-m", "connector.cli", "sandbox",
            "--catalog-size", str(catalog_size), "--interval", repr(interval),
            "--mirakl-port", "0", "--woo-port", "0", "--woo-latency", repr(woo_latency),
        ]
        self.process: subprocess.Popen[str] | None = None
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> SandboxProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIRAKL_WOO_")}
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        found: dict[str, str] = {}
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        while len(found) < 3 and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = _URL_LINE.match(line)
            if match:
                found[match.group(1)] = match.group(2)
        if len(found) < 3:
            self.__exit__()
            raise RuntimeError("the sandbox process did not print its URLs")
        self.endpoints = Endpoints(
            auth_url=found["Mirakl Connect token URL"],
            api_url=found["Mirakl Connect API URL"],
            woo_url=found["WooCommerce store URL"],
            interval=self.interval,
        )
        for url in (self.endpoints.auth_url, self.endpoints.woo_url):
            assert url.startswith("http://127.0.0.1:"), url
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and of every living descendant (threads' children included)."""
    total = process_cpu(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            with contextlib.suppress(OSError):  # it ended meanwhile
                total += tree_cpu(int(child))
    return total


def cli_stamped(endpoints: Endpoints, home: Path, *args: str
                ) -> tuple[str, list[tuple[float, str]]]:
    """Like `cli`, but each stderr line (progress, activity) is stamped with `time.time()` as
    it arrives: stdout, [(time, line)]. The progress is flushed line by line (not a tty)."""
    import threading

    process = subprocess.Popen(
        [PYTHON, "-m", "connector.cli", *args], cwd=ROOT, env=endpoints.env(home),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[tuple[float, str]] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append((time.time(), line.rstrip("\n")))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait()
    reader.join(10)
    if process.returncode != 0:
        tail = " | ".join(line for _, line in lines[-3:])
        raise RuntimeError(f"`mirakl-woo {' '.join(args)}` exited {process.returncode}: {tail}")
    return output, lines
