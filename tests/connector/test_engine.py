"""Engine.store: the data folder and the database, created once, failing in one clear line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connector import engine as engine_module
from connector.engine import CREATED_FOLDERS, Engine
from connector.settings import Settings, StateError


def test_a_fresh_store_records_the_folders_it_created(tmp_path: Path) -> None:
    engine = Engine(Settings(home=tmp_path / "h"))
    assert engine.peek_store() is None and not (tmp_path / "h").exists()
    assert engine.store.get_setting(CREATED_FOLDERS) == ["cache", "home", "logs"]
    assert engine.warnings == []
    engine.close()


def test_an_existing_folder_is_not_recorded_as_created(tmp_path: Path) -> None:
    home = tmp_path / "h"
    (home / "logs").mkdir(parents=True)
    home.chmod(0o700)
    engine = Engine(Settings(home=home))
    assert engine.created_folders() == []
    engine.store  # noqa: B018
    assert engine.created_folders() == ["cache"]
    engine.close()


def test_a_damaged_database_names_the_file(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    db = home / "mirakl-woo.sqlite3"
    db.write_bytes(b"this is not sqlite at all" * 100)
    engine = Engine(Settings(home=home))
    with pytest.raises(StateError) as caught:
        engine.peek_store()
    assert caught.value.message == (
        f"The database {db} is damaged or is not a mirakl-woo database."
    )
    assert caught.value.exit_code == 1 and caught.value.hint
    assert db.read_bytes().startswith(b"this is not sqlite")  # left as it was


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (sqlite3.OperationalError("database or disk is full"), "the disk is full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("unable to open database file"), "cannot be opened"),
        (PermissionError(13, "Permission denied"), "Permission denied"),
    ],
)
def test_a_database_that_cannot_be_used_names_the_file_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, said: str
) -> None:
    def fail(path: Path) -> None:
        raise error

    monkeypatch.setattr(engine_module, "Store", fail)
    engine = Engine(Settings(home=tmp_path / "h"))
    with pytest.raises(StateError) as caught:
        engine.store  # noqa: B018
    assert str(engine.settings.db_path) in caught.value.message
    assert said in caught.value.message
    assert "\n" not in caught.value.one_line()
    assert not (tmp_path / "h").exists()  # the folders made for it are not left behind


def test_a_file_where_the_data_folder_should_be(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.write_text("a file")
    engine = Engine(Settings(home=home))
    with pytest.raises(StateError, match=f"Cannot create the data folder {home}"):
        engine.store  # noqa: B018


def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a file")
    home = tmp_path / "f" / "h"
    with pytest.raises(StateError) as caught:
        Engine(Settings(home=home)).store  # noqa: B018
    assert caught.value.message == f"Cannot create the data folder {home}: Not a directory."


def test_an_open_data_folder_is_warned_about_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "h"
    home.mkdir()
    home.chmod(0o750)
    engine = Engine(Settings(home=home))
    import logging

    logger = logging.getLogger("connector")
    logger.addHandler(caplog.handler)
    try:
        engine.store  # noqa: B018
    finally:
        logger.removeHandler(caplog.handler)
    (warning,) = engine.warnings
    assert "0750" in warning and str(home) in warning
    assert warning in caplog.text
    assert home.stat().st_mode & 0o777 == 0o750
    engine.close()
