"""Credentials at rest: one JSON file, mode 0600, replaced atomically, values wrapped in Secret."""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
from pathlib import Path

from connector import redact
from connector.secret import Secret
from connector.settings import StateError

log = logging.getLogger("connector.secrets")
_REAUTHORIZE = "Authorize the accounts again (mirakl-woo connect …, or the app): that rewrites it."


class SecretsDamaged(StateError):
    """The secrets file exists but holds no readable JSON object."""


class SecretsFile:
    """Holds `mirakl.client_secret`, `woocommerce.consumer_key`, `woocommerce.consumer_secret`.

    `warnings` (shared with the Engine) collects what the merchant should know: e.g. a file
    found readable by others, tightened to 0600."""

    def __init__(self, path: Path, warnings: list[str] | None = None) -> None:
        self.path = path
        self.warnings = warnings if warnings is not None else []

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        if message not in self.warnings:
            self.warnings.append(message)

    def _read(self) -> dict[str, str]:
        try:
            with self.path.open("rb") as handle:
                self._tighten(handle.fileno())
                raw = handle.read()
        except FileNotFoundError:
            return {}
        except PermissionError:
            raise StateError(
                f"Cannot read the secrets file {self.path}: permission denied.",
                "It must belong to the user that runs mirakl-woo.",
            ) from None
        except OSError as error:
            raise StateError(
                f"Cannot read the secrets file {self.path}: {error.strerror or error}.",
                _REAUTHORIZE,
            ) from error
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SecretsDamaged(
                f"The secrets file {self.path} is damaged (not valid JSON).", _REAUTHORIZE
            ) from None
        if not isinstance(data, dict):
            raise SecretsDamaged(
                f"The secrets file {self.path} is damaged (not a JSON object).", _REAUTHORIZE
            )
        return {str(k): str(v) for k, v in data.items()}

    def _tighten(self, fd: int) -> None:
        """A secrets file others may read (copied, restored from a backup) goes back to 0600."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o077:
            return
        mode = stat.S_IMODE(info.st_mode)
        try:
            os.fchmod(fd, 0o600)
        except OSError as error:
            self._warn(
                f"The secrets file {self.path} is readable by other users (mode {mode:04o}) "
                f"and could not be made private: {error.strerror or error}. "
                f"Run: chmod 600 {self.path}"
            )
            return
        self._warn(
            f"The secrets file {self.path} was readable by other users (mode {mode:04o}); "
            "it is private (0600) now. Consider rotating the secrets it holds."
        )

    def names(self) -> set[str]:
        """The names a value is saved for (no value is revealed or registered)."""
        return set(self._read())

    def get(self, name: str) -> Secret | None:
        value = self._read().get(name)
        if value is None:
            return None
        redact.register(value)
        return Secret(value)

    def _read_for_update(self) -> dict[str, str]:
        """A damaged file is replaced: authorizing again is how the merchant repairs it."""
        try:
            return self._read()
        except SecretsDamaged as error:
            self._warn(f"{error.message} It is replaced by the new secrets.")
            return {}

    def set(self, **values: Secret) -> None:
        data = self._read_for_update()
        data.update({name: secret.reveal() for name, secret in values.items()})
        self._write(data)

    def remove(self, *names: str) -> None:
        data = self._read_for_update()
        for name in names:
            data.pop(name, None)
        self._write(data)

    def _write(self, data: dict[str, str]) -> None:
        """Never creates the data folder: it exists once the database does (a folder gone
        means a disconnect wiped it, and a secret must not bring it back)."""
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets.", suffix=".tmp")
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as error:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise StateError(
                f"Cannot write the secrets file {self.path}: {error.strerror or error}.",
                "Check the data folder's permissions and free space.",
            ) from error
        except BaseException:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise
