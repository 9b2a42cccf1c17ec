"""The secrets file: private, and every way it can be unusable is one line naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.secret import Secret
from connector.secrets_file import SecretsDamaged, SecretsFile
from connector.settings import StateError


def test_a_file_others_may_read_is_made_private_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"mirakl.client_secret": "s3cr3t-value-123"}')
    path.chmod(0o644)
    warnings: list[str] = []
    secrets = SecretsFile(path, warnings)
    assert secrets.get("mirakl.client_secret").reveal() == "s3cr3t-value-123"
    assert path.stat().st_mode & 0o777 == 0o600
    (warning,) = warnings
    assert str(path) in warning and "0644" in warning and "s3cr3t" not in warning
    secrets.get("mirakl.client_secret")
    assert len(warnings) == 1  # private now: said once


@pytest.mark.parametrize(
    ("content", "why"),
    [("{not json", "not valid JSON"), ('["a list"]', "not a JSON object"), ("", "not valid JSON")],
)
def test_a_damaged_file_is_one_clear_error(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    with pytest.raises(SecretsDamaged) as caught:
        SecretsFile(path).get("mirakl.client_secret")
    assert caught.value.message == f"The secrets file {path} is damaged ({why})."
    assert "Authorize" in caught.value.hint and caught.value.exit_code == 1


def test_invalid_utf8_is_damaged_too(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(SecretsDamaged, match="damaged"):
        SecretsFile(path).get("x")


def test_authorizing_again_replaces_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{garbage")
    warnings: list[str] = []
    secrets = SecretsFile(path, warnings)
    secrets.set(**{"mirakl.client_secret": Secret("new-secret-value")})
    assert secrets.get("mirakl.client_secret").reveal() == "new-secret-value"
    assert path.stat().st_mode & 0o777 == 0o600
    assert any("damaged" in warning for warning in warnings)


def test_an_unreadable_file_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(StateError) as caught:
        SecretsFile(path).get("x")
    assert caught.value.message == f"Cannot read the secrets file {path}: permission denied."


def test_a_folder_in_its_place_names_it(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.mkdir()
    with pytest.raises(StateError, match=f"Cannot read the secrets file {path}"):
        SecretsFile(path).get("x")


def test_writing_never_creates_the_folder(tmp_path: Path) -> None:
    home = tmp_path / "wiped"
    with pytest.raises(StateError, match=f"Cannot write the secrets file {home}"):
        SecretsFile(home / "secrets.json").set(x=Secret("some-secret-value"))
    assert not home.exists()


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StateError) as caught:
        SecretsFile(tmp_path / "secrets.json").set(x=Secret("some-secret-value"))
    assert "No space left on device" in caught.value.message
    assert list(tmp_path.iterdir()) == []
