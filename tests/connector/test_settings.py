from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import UsageError
from connector.settings import DEFAULT_API_URL, DEFAULT_AUTH_URL, Settings, StateError


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


def test_a_new_data_folder_is_private_and_reported_as_created(tmp_path: Path) -> None:
    home = tmp_path / "h"
    settings = Settings(home=home)
    assert settings.ensure_home() == ["home", "logs", "cache"]
    for folder in (home, settings.log_dir, settings.cache_dir):
        assert folder.stat().st_mode & 0o777 == 0o700
    assert settings.folder_warnings() == []
    assert settings.ensure_home() == []  # a second time: nothing created


def test_an_existing_folder_is_never_re_moded_but_warned_about(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    home.chmod(0o755)
    (home / "logs").mkdir()
    (home / "logs").chmod(0o755)
    settings = Settings(home=home)
    assert settings.ensure_home() == ["cache"]
    assert home.stat().st_mode & 0o777 == 0o755
    assert (home / "logs").stat().st_mode & 0o777 == 0o755
    assert (home / "cache").stat().st_mode & 0o777 == 0o700
    (warning,) = settings.folder_warnings()
    assert str(home) in warning and "0755" in warning and "chmod 700" in warning


def test_a_home_through_a_symlink_is_not_re_moded(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    real.chmod(0o755)
    link = tmp_path / "link"
    link.symlink_to(real)
    settings = Settings(home=link)
    assert settings.ensure_home() == ["logs", "cache"]
    assert real.stat().st_mode & 0o777 == 0o755
    assert link.is_symlink()
    assert settings.folder_warnings()


def test_a_file_where_the_data_folder_should_be_is_one_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.write_text("not a folder")
    with pytest.raises(StateError, match=f"Cannot create the data folder {home}") as caught:
        Settings(home=home).ensure_home()
    assert caught.value.exit_code == 1


def test_a_folder_that_cannot_be_created_names_it_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "h"

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StateError) as caught:
        Settings(home=home).ensure_home()
    assert caught.value.message == f"Cannot create the data folder {home}: Permission denied."


def test_store_concurrency_is_small_by_default_and_can_be_set(tmp_path: Path) -> None:
    home = {"MIRAKL_WOO_HOME": str(tmp_path)}
    assert Settings.from_env(home).store_concurrency == 3
    assert Settings.from_env({**home, "MIRAKL_WOO_STORE_CONCURRENCY": " 5 "}).store_concurrency == 5


@pytest.mark.parametrize("value", ["0", "-2", "two", "2.5", "17"])
def test_bad_store_concurrency_is_one_clear_error(value: str, tmp_path: Path) -> None:
    env = {"MIRAKL_WOO_HOME": str(tmp_path), "MIRAKL_WOO_STORE_CONCURRENCY": value}
    with pytest.raises(UsageError, match="MIRAKL_WOO_STORE_CONCURRENCY must be a whole number"):
        Settings.from_env(env)


def test_bad_store_concurrency_exits_2_with_one_line(
    mirakl_woo_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from connector.cli import main

    monkeypatch.setenv("MIRAKL_WOO_STORE_CONCURRENCY", "lots")
    assert main(["status"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "MIRAKL_WOO_STORE_CONCURRENCY" in lines[0]
    assert len(lines) <= 2  # the message and its hint
