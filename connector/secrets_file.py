"""Credentials at rest: one JSON file, mode 0600, replaced atomically, values wrapped in Secret."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from connector import redact
from connector.secret import Secret


class SecretsFile:
    """Holds `mirakl.client_secret`, `woocommerce.consumer_key`, `woocommerce.consumer_secret`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            with self.path.open(encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def get(self, name: str) -> Secret | None:
        value = self._read().get(name)
        if value is None:
            return None
        redact.register(value)
        return Secret(value)

    def set(self, **values: Secret) -> None:
        data = self._read()
        data.update({name: secret.reveal() for name, secret in values.items()})
        self._write(data)

    def remove(self, *names: str) -> None:
        data = self._read()
        for name in names:
            data.pop(name, None)
        self._write(data)

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
