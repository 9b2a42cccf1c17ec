"""Where the connector keeps its files and which servers it talks to (environment first)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connector.errors import ConnectorError, UsageError

APP_NAME = "mirakl-woo"
DEFAULT_AUTH_URL = "https://auth.mirakl.net/oauth/token"
DEFAULT_API_URL = "https://miraklconnect.com/api"
DEFAULT_MIN_INTERVAL = 60.0
# Requests in flight to the store: each holds one of its PHP workers for 0.1-0.3 s of CPU,
# and a small host has a handful, which the shop's visitors need too.
DEFAULT_STORE_CONCURRENCY = 3
MAX_STORE_CONCURRENCY = 16


class StateError(ConnectorError):
    """The data folder, the database or the secrets file cannot be used: the message names
    the file and the problem (a damaged file, a folder that cannot be created, a full disk)."""

    exit_code = 1


def _default_home() -> Path:
    import platformdirs  # only paid for when no MIRAKL_WOO_HOME is set

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ca_file_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """`MIRAKL_WOO_CA_FILE`: extra certificates to trust (PEM), checked so that a missing,
    unreadable or non-PEM file is one clear line, not a TLS failure later."""
    env = os.environ if env is None else env
    value = env.get("MIRAKL_WOO_CA_FILE", "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    hint = "Point MIRAKL_WOO_CA_FILE at the store's certificate (or its CA's), in PEM format."
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"MIRAKL_WOO_CA_FILE: {path} does not exist.", hint) from None
    except IsADirectoryError:
        raise UsageError(f"MIRAKL_WOO_CA_FILE: {path} is a folder, not a file.", hint) from None
    except OSError as error:
        raise UsageError(
            f"MIRAKL_WOO_CA_FILE: cannot read {path} ({error.strerror or error}).", hint
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UsageError(f"MIRAKL_WOO_CA_FILE: {path} holds no PEM certificate.", hint)
    import ssl

    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError):
        raise UsageError(
            f"MIRAKL_WOO_CA_FILE: {path} holds a certificate that cannot be read (damaged PEM).",
            hint,
        ) from None
    return path


def store_concurrency_from_env(env: Mapping[str, str] | None = None) -> int:
    """`MIRAKL_WOO_STORE_CONCURRENCY`: requests in flight to the WooCommerce store."""
    env = os.environ if env is None else env
    raw = env.get("MIRAKL_WOO_STORE_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_STORE_CONCURRENCY
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_STORE_CONCURRENCY:
        raise UsageError(
            f"MIRAKL_WOO_STORE_CONCURRENCY must be a whole number from 1 to "
            f"{MAX_STORE_CONCURRENCY} (requests in flight to the store).",
            f"It is set to {raw!r}; unset it for the default, {DEFAULT_STORE_CONCURRENCY}.",
        )
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise UsageError(f"{name} must be an http:// or https:// URL.", f"It is set to {value!r}.")
    return value.rstrip("/")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved once per process; every path the connector writes lives under `home`."""

    home: Path
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    min_interval: float = DEFAULT_MIN_INTERVAL
    ca_file: Path | None = None
    store_concurrency: int = DEFAULT_STORE_CONCURRENCY

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home_value = env.get("MIRAKL_WOO_HOME", "").strip()
        home = Path(home_value).expanduser() if home_value else _default_home()
        raw_interval = env.get("MIRAKL_WOO_MIN_INTERVAL", "").strip()
        try:
            interval = float(raw_interval) if raw_interval else DEFAULT_MIN_INTERVAL
        except ValueError:
            interval = -1.0
        if not interval >= 0 or interval == float("inf"):
            raise UsageError(
                "MIRAKL_WOO_MIN_INTERVAL must be a number of seconds (0 or more).",
                f"It is set to {raw_interval!r}.",
            )
        return cls(
            home=home,
            auth_url=_url(env, "MIRAKL_WOO_AUTH_URL", DEFAULT_AUTH_URL),
            api_url=_url(env, "MIRAKL_WOO_API_URL", DEFAULT_API_URL),
            min_interval=interval,
            ca_file=ca_file_from_env(env),
            store_concurrency=store_concurrency_from_env(env),
        )

    @property
    def db_path(self) -> Path:
        return self.home / "mirakl-woo.sqlite3"

    @property
    def secrets_path(self) -> Path:
        return self.home / "secrets.json"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_path(self) -> Path:
        return self.log_dir / "mirakl-woo.log"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def lock_path(self) -> Path:
        return self.home / "runner.lock"

    def folders(self) -> dict[str, Path]:
        """The folders the connector uses, by the name `ensure_home` reports them with."""
        return {"home": self.home, "logs": self.log_dir, "cache": self.cache_dir}

    def ensure_home(self) -> list[str]:
        """Create the data folder and its sub-folders that are missing, 0700; return the names
        of those it created ("home", "logs", "cache"). A folder that already exists (through a
        symlink too) is left as it is: never re-moded, see `folder_warnings`."""
        created: list[str] = []
        for name, folder in self.folders().items():
            try:
                folder.mkdir(mode=0o700, parents=name == "home")
            except FileExistsError:
                if folder.is_dir():
                    continue
                raise StateError(
                    f"Cannot create the data folder {folder}: a file of that name is in the way.",
                    "Move the file, or point MIRAKL_WOO_HOME at another folder.",
                ) from None
            except OSError as error:
                raise StateError(
                    f"Cannot create the data folder {folder}: {error.strerror or error}.",
                    "Check the folder's permissions and free space, or set MIRAKL_WOO_HOME.",
                ) from error
            try:
                os.chmod(folder, 0o700)  # ours, just made: the umask may have taken bits away
            except OSError as error:
                raise StateError(
                    f"Cannot create the data folder {folder}: {error.strerror or error}.",
                    "Check the folder's permissions, or set MIRAKL_WOO_HOME.",
                ) from error
            created.append(name)
        return created

    def folder_warnings(self) -> list[str]:
        """One line for the data folder if other users of the computer may open it."""
        try:
            mode = stat.S_IMODE(self.home.stat().st_mode)
        except OSError:
            return []
        if not mode & 0o077:
            return []
        return [
            f"The data folder {self.home} is open to other users of this computer "
            f"(mode {mode:04o}); the connector's own files in it are private (0600). "
            f"To close it: chmod 700 {self.home}"
        ]
