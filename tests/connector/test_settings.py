from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import UsageError
from connector.settings import DEFAULT_API_URL, DEFAULT_AUTH_URL, Settings


def test_environment_names_of_the_contract(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MIRAKL_WOO_HOME": str(tmp_path / "h"),
            "MIRAKL_WOO_AUTH_URL": "http://127.0.0.1:9/oauth/token",
            "MIRAKL_WOO_API_URL": "http://127.0.0.1:9/api/",
            "MIRAKL_WOO_MIN_INTERVAL": "1.5",
        }
    )
    assert settings.home == tmp_path / "h"
    assert settings.auth_url == "http://127.0.0.1:9/oauth/token"
    assert settings.api_url == "http://127.0.0.1:9/api"
    assert settings.min_interval == 1.5


def test_defaults_follow_the_public_services(tmp_path: Path) -> None:
    settings = Settings.from_env({"MIRAKL_WOO_HOME": str(tmp_path)})
    assert (settings.auth_url, settings.api_url) == (DEFAULT_AUTH_URL, DEFAULT_API_URL)
    assert settings.min_interval == 60


def test_default_home_comes_from_platformdirs() -> None:
    assert "mirakl-woo" in str(Settings.from_env({}).home)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_bad_interval_is_one_clear_error(value: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MIRAKL_WOO_MIN_INTERVAL"):
        Settings.from_env({"MIRAKL_WOO_HOME": str(tmp_path), "MIRAKL_WOO_MIN_INTERVAL": value})


def test_bad_url_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MIRAKL_WOO_API_URL"):
        Settings.from_env({"MIRAKL_WOO_HOME": str(tmp_path), "MIRAKL_WOO_API_URL": "ftp://x"})


def test_data_folder_is_private(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir(mode=0o755)
    Settings(home=home).ensure_home()
    assert home.stat().st_mode & 0o777 == 0o700
