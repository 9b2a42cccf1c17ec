"""Where the connector keeps its files and which servers it talks to (environment first)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connector.errors import UsageError

APP_NAME = "mirakl-woo"
DEFAULT_AUTH_URL = "https://auth.mirakl.net/oauth/token"
DEFAULT_API_URL = "https://miraklconnect.com/api"
DEFAULT_MIN_INTERVAL = 60.0


def _default_home() -> Path:
    import platformdirs  # only paid for when no MIRAKL_WOO_HOME is set

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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

    def ensure_home(self) -> Path:
        """Create the data folder (0700) and its sub-folders; tighten the mode if it was looser."""
        for folder in (self.home, self.log_dir, self.cache_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        return self.home
