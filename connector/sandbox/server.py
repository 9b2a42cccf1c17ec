"""Serve both sandboxes on loopback (uvicorn, in a background thread with its own loop)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from connector.sandbox.catalog import Catalog
from connector.sandbox.faults import Faults
from connector.sandbox.mirakl import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_COMPANY_ID,
    MiraklSandbox,
)
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox


@dataclass
class SandboxServers:
    """Both sandboxes listening on 127.0.0.1; `start()` returns once both accept connections."""

    catalog_size: int = 200
    interval: float = 60.0
    host: str = "127.0.0.1"
    mirakl_port: int = 0
    woo_port: int = 0
    mirakl_faults: Faults | None = None
    woo_faults: Faults | None = None
    mirakl: MiraklSandbox = field(init=False)
    woo: WooSandbox = field(init=False)
    _servers: list[uvicorn.Server] = field(default_factory=list, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _ports: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.mirakl = MiraklSandbox(interval=self.interval, faults=self.mirakl_faults)
        self.woo = WooSandbox(catalog=Catalog(self.catalog_size), faults=self.woo_faults)

    @property
    def mirakl_url(self) -> str:
        return f"http://{self.host}:{self._ports['mirakl']}"

    @property
    def auth_url(self) -> str:
        return f"{self.mirakl_url}/oauth/token"

    @property
    def api_url(self) -> str:
        return f"{self.mirakl_url}/api"

    @property
    def woo_url(self) -> str:
        return f"http://{self.host}:{self._ports['woo']}"

    def env(self) -> dict[str, str]:
        """The environment that points the connector at these servers."""
        return {
            "MIRAKL_WOO_AUTH_URL": self.auth_url,
            "MIRAKL_WOO_API_URL": self.api_url,
            "MIRAKL_WOO_MIN_INTERVAL": repr(self.interval),
        }

    def credentials(self) -> dict[str, str]:
        return {
            "mirakl_client_id": DEMO_CLIENT_ID,
            "mirakl_client_secret": DEMO_CLIENT_SECRET,
            "mirakl_company_id": DEMO_COMPANY_ID,
            "woo_url": self.woo_url,
            "woo_consumer_key": DEMO_CONSUMER_KEY,
            "woo_consumer_secret": DEMO_CONSUMER_SECRET,
        }

    def _config(self, app: Any, port: int) -> uvicorn.Config:
        return uvicorn.Config(
            app, host=self.host, port=port, log_level="warning", access_log=False, lifespan="off"
        )

    async def serve(self, ready: threading.Event | None = None) -> None:
        """Run both servers in the current loop until `stop()`."""
        self._servers = [
            uvicorn.Server(self._config(self.mirakl.app, self.mirakl_port)),
            uvicorn.Server(self._config(self.woo.app, self.woo_port)),
        ]
        for server in self._servers:
            server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        tasks = [asyncio.create_task(server.serve()) for server in self._servers]
        while not all(server.started for server in self._servers):
            if any(task.done() for task in tasks):
                for task in tasks:
                    if task.done() and task.exception():
                        raise task.exception()  # type: ignore[misc]
                raise RuntimeError("a sandbox server stopped while starting")
            await asyncio.sleep(0.01)
        for name, server in zip(("mirakl", "woo"), self._servers, strict=True):
            self._ports[name] = server.servers[0].sockets[0].getsockname()[1]
        if ready is not None:
            ready.set()
        await asyncio.gather(*tasks)

    def start(self) -> SandboxServers:
        """Serve from a daemon thread; returns when both ports are known."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve(ready))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="mirakl-woo-sandbox", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        if not self._ports:
            raise RuntimeError("the sandbox servers did not start within 30 s")
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> SandboxServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
