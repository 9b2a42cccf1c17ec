"""Every test gets its own data folder: no test ever touches a real configuration."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def mirakl_woo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mirakl-woo-home"
    monkeypatch.setenv("MIRAKL_WOO_HOME", str(home))
    for name in (
        "MIRAKL_WOO_AUTH_URL",
        "MIRAKL_WOO_API_URL",
        "MIRAKL_WOO_MIN_INTERVAL",
        "MIRAKL_WOO_CLIENT_SECRET",
        "MIRAKL_WOO_CONSUMER_SECRET",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    return home
