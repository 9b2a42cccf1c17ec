"""Start the app: on the real data folder, or as the demo against local sandboxes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def run_app() -> int:
    from connector.engine import Engine
    from connector.redact import setup_logging
    from tui import hangup
    from tui.app import MiraklWooApp

    hangup.install()
    engine = Engine.from_env()
    if engine.exists:
        setup_logging(str(engine.settings.log_path))
    try:
        MiraklWooApp(engine).run()
    finally:
        engine.close()
    return 0


def run_demo(*, connected: bool = False, catalog_size: int = 1500, interval: float = 2.0) -> int:
    """Sandbox servers on loopback + a data folder of the demo's own (never the real one)."""
    import asyncio

    from connector.engine import Engine
    from connector.redact import setup_logging
    from connector.sandbox.server import SandboxServers
    from connector.secret import Secret
    from connector.services import onboarding
    from connector.settings import Settings
    from tui import hangup
    from tui.app import MiraklWooApp

    hangup.install()
    home = Path(tempfile.mkdtemp(prefix="mirakl-woo-demo-"))
    try:
        with SandboxServers(catalog_size=catalog_size, interval=interval) as servers:
            settings = Settings(
                home=home / "data",
                auth_url=servers.auth_url,
                api_url=servers.api_url,
                min_interval=interval,
            )
            os.environ["MIRAKL_WOO_HOME"] = str(settings.home)
            engine = Engine(settings)
            creds = servers.credentials()
            if connected:

                async def connect() -> None:
                    await onboarding.connect_mirakl(
                        engine, creds["mirakl_client_id"], Secret(creds["mirakl_client_secret"])
                    )
                    await onboarding.connect_woocommerce(
                        engine,
                        creds["woo_url"],
                        Secret(creds["woo_consumer_key"]),
                        Secret(creds["woo_consumer_secret"]),
                    )

                asyncio.run(connect())
            if engine.exists:
                setup_logging(str(settings.log_path))
            try:
                MiraklWooApp(engine, demo=creds).run()
            finally:
                engine.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0
