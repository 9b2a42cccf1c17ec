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
    _threads: list[threading.Thread] = field(default_factory=list, init=False, repr=False)
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

    def start(self) -> SandboxServers:
        """Serve each sandbox from a daemon thread with its own event loop (so building a page
        of the store never delays the Mirakl sandbox's arrival clock); returns once both
        accept connections."""
        for name, app, port in (
            ("mirakl", self.mirakl.app, self.mirakl_port),
            ("woo", self.woo.app, self.woo_port),
        ):
            self._ports[name] = self._serve_in_thread(name, app, port)
        return self

    def _serve_in_thread(self, name: str, app: Any, port: int) -> int:
        server = uvicorn.Server(self._config(app, port))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._servers.append(server)
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError(f"the {name} sandbox stopped while starting")
                await asyncio.sleep(0.01)
            ready.set()
            await task

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()

        thread = threading.Thread(target=run, name=f"mirakl-woo-sandbox-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        ready.wait(30)
        if failure:
            self.stop()
            raise failure[0]
        if not server.started:
            self.stop()
            raise RuntimeError(f"the {name} sandbox did not start within 30 s")
        return int(server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
        self._servers.clear()

    def __enter__(self) -> SandboxServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
