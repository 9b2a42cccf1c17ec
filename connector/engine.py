"""The one object both faces (CLI and TUI) hold: settings, state, and the two clients."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector import redact
from connector.errors import ConnectorError, NotConnected
from connector.pacing import Pacer
from connector.secret import Secret
from connector.secrets_file import SecretsFile
from connector.settings import Settings, StateError
from connector.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from connector.clients.mirakl import MiraklClient
    from connector.clients.woocommerce import WooClient

MIRAKL = "mirakl"
WOOCOMMERCE = "woocommerce"
MIRAKL_SECRET = "mirakl.client_secret"
WOO_KEY = "woocommerce.consumer_key"
WOO_SECRET = "woocommerce.consumer_secret"
CREATED_FOLDERS = "created_folders"  # settings key: the folders the connector made (the wipe's)
log = logging.getLogger("connector.state")


class DataFolderBusy(ConnectorError):
    """The database is gone while another process holds the runner lock: a disconnect is
    wiping the data folder. Nothing may be created in it until it is done."""

    exit_code = 1


@dataclass
class Engine:
    """Opens the data folder lazily: reading status of a fresh machine creates nothing.

    `mirakl_transport` / `woo_transport` let tests mount the sandbox ASGI apps in-process.
    """

    settings: Settings
    mirakl_transport: httpx.AsyncBaseTransport | None = None
    woo_transport: httpx.AsyncBaseTransport | None = None
    client_options: dict[str, Any] = field(default_factory=dict)
    _store: Store | None = field(default=None, init=False, repr=False)
    read_cache: dict[str, tuple[Any, ...]] = field(default_factory=dict, init=False, repr=False)
    """Read services' results, each with the database stamp it was read at (see `Store.stamp`)."""
    warnings: list[str] = field(default_factory=list, init=False, repr=False)
    """What the merchant should know about the data folder (a folder others may read, a
    secrets file found readable and tightened): the CLI and the app show them; also logged."""

    @classmethod
    def from_env(cls, **kwargs: Any) -> Engine:
        return cls(Settings.from_env(), **kwargs)

    @property
    def exists(self) -> bool:
        """True once something was saved: an account, a ledger, a job."""
        path = self.settings.db_path
        try:
            return path.exists()
        except OSError as error:  # a folder we may not enter
            raise StateError(
                f"Cannot read the data folder {path.parent}: {error.strerror or error}.",
                "It must belong to the user that runs mirakl-woo.",
            ) from error

    @property
    def store(self) -> Store:
        """The database, created (with the data folder) on first use."""
        if self._store is None:
            store = self._open(create=True)
            assert store is not None
            self._store = store
        return self._store

    @property
    def in_process(self) -> bool:
        """True when its clients reach mounted ASGI apps (tests): a runner for it must then
        run in this process, since no other process can reach those apps."""
        return self.mirakl_transport is not None or self.woo_transport is not None

    def sibling(self) -> Engine:
        """An engine on the same data folder and servers with a connection of its own: what
        a runner of this process works with (SQLite tells each connection what others did)."""
        return Engine(
            self.settings,
            mirakl_transport=self.mirakl_transport,
            woo_transport=self.woo_transport,
            client_options=dict(self.client_options),
        )

    @property
    def is_open(self) -> bool:
        """True when this process has the database open (it made or read it)."""
        return self._store is not None

    def peek_store(self) -> Store | None:
        """The store if the data folder holds one; never creates it."""
        if not self.exists:
            return None
        if self._store is None:
            self._store = self._open(create=False)
        return self._store

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            log.warning("%s", message)
            self.warnings.append(message)

    def _open(self, *, create: bool) -> Store | None:
        from connector.jobs import lock_held

        settings = self.settings
        if not settings.db_path.exists() and lock_held(settings.home):
            raise DataFolderBusy(
                f"A disconnect is deleting the data folder {settings.home} right now.",
                "Nothing was changed. Wait for it to finish, then connect again.",
            )
        created = settings.ensure_home()
        if not create and not settings.db_path.exists():  # wiped meanwhile: stay gone
            self._remove_folders(created)
            return None
        for message in settings.folder_warnings():
            self.warn(message)
        try:
            store = _open_store(settings.db_path)
            if created:
                self._record_created(store, created)
        except StateError:
            self._remove_folders(created)  # made for a database that could not be: not kept
            raise
        return store

    def _remove_folders(self, names: list[str]) -> None:
        folders = self.settings.folders()
        for name in ("cache", "logs", "home"):
            if name in names:
                with contextlib.suppress(OSError):
                    folders[name].rmdir()

    def _record_created(self, store: Store, created: list[str]) -> None:
        """Merged with what an earlier open recorded; never overwritten by an open that
        created nothing (the wipe removes exactly these folders, if empty)."""
        try:
            known = list(store.get_setting(CREATED_FOLDERS, []) or [])
            merged = sorted(set(known) | set(created))
            if merged != sorted(known):
                store.set_setting(CREATED_FOLDERS, merged)
        except sqlite3.Error as error:
            store.close()
            raise database_error(self.settings.db_path, error) from error

    def created_folders(self) -> list[str]:
        """The folders (by name: home, logs, cache) the connector created, as recorded."""
        store = self.peek_store()
        if store is None:
            return []
        value = store.get_setting(CREATED_FOLDERS, [])
        return [str(name) for name in value] if isinstance(value, list) else []

    @property
    def secrets(self) -> SecretsFile:
        return SecretsFile(self.settings.secrets_path, self.warnings)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def pacer(self, store: Store | None = None) -> Pacer:
        return Pacer(store or self.store, self.settings.min_interval)

    # clients ----------------------------------------------------------------------------

    def new_mirakl_client(
        self, client_id: str, client_secret: Secret, company_id: str | None, pacer: Pacer
    ) -> MiraklClient:
        from connector.clients.mirakl import MiraklClient

        redact.register(client_secret)
        return MiraklClient(
            auth_url=self.settings.auth_url,
            api_url=self.settings.api_url,
            client_id=client_id,
            client_secret=client_secret,
            company_id=company_id,
            pacer=pacer,
            transport=self.mirakl_transport,
            ca_file=self.settings.ca_file,
            **self.client_options.get(MIRAKL, {}),
        )

    def new_woo_client(
        self,
        url: str,
        key: Secret,
        secret: Secret,
        auth_mode: str | None = None,
        *,
        api_root: str | None = None,
        home_url: str | None = None,
    ) -> WooClient:
        """`api_root`, `home_url`: what connect found (plain permalinks, a home URL other
        than the address given), so a sync does not find them again."""
        from connector.clients.woocommerce import WooClient

        redact.register(key)
        redact.register(secret)
        return WooClient(
            url=url,
            consumer_key=key,
            consumer_secret=secret,
            auth_mode=auth_mode,
            api_root=api_root,
            home_url=home_url,
            ca_file=self.settings.ca_file,
            transport=self.woo_transport,
            **{"concurrency": self.settings.store_concurrency}
            | self.client_options.get(WOOCOMMERCE, {}),
        )

    def mirakl_client(self) -> MiraklClient:
        """A client for the connected Mirakl Connect account."""
        store = self.peek_store()
        account = store.account(MIRAKL) if store else None
        secret = self.secrets.get(MIRAKL_SECRET)
        if account is None or secret is None:
            raise NotConnected(
                "Mirakl Connect is not connected.",
                "Run `mirakl-woo connect mirakl --client-id ID` or open the app to authorize.",
            )
        details = account.details
        return self.new_mirakl_client(
            details["client_id"], secret, details.get("company_id"), self.pacer()
        )

    def woo_client(self) -> WooClient:
        """A client for the connected WooCommerce store."""
        store = self.peek_store()
        account = store.account(WOOCOMMERCE) if store else None
        key, secret = self.secrets.get(WOO_KEY), self.secrets.get(WOO_SECRET)
        if account is None or key is None or secret is None:
            raise NotConnected(
                "No WooCommerce store is connected.",
                "Run `mirakl-woo connect woocommerce --url URL --consumer-key CK`.",
            )
        details = account.details
        client = self.new_woo_client(
            details["url"],
            key,
            secret,
            details.get("auth_mode"),
            api_root=details.get("api_root"),
            home_url=details.get("home_url"),
        )
        client.on_auth_mode = self._remember_auth_mode
        return client

    def _remember_auth_mode(self, mode: str) -> None:
        """The store's host began stripping the Authorization header after connect: saved,
        so `status` and the app say the secret now travels in the URL, and the next run
        sends it so at once instead of finding out again."""
        try:
            store = self.peek_store()
            account = store.account(WOOCOMMERCE) if store is not None else None
            if store is None or account is None or account.details.get("auth_mode") == mode:
                return
            store.save_account(WOOCOMMERCE, {**account.details, "auth_mode": mode})
            if mode == "query":
                from connector.clients.woocommerce import QUERY_NOTICE

                store.log_activity(QUERY_NOTICE, "warning")
        except (sqlite3.Error, OSError) as error:  # the request in flight must not fail
            log.warning("the store's new auth mode %s was not saved: %s", mode, error)


def _open_store(path: Path) -> Store:
    try:
        return Store(path)
    except sqlite3.Error as error:
        raise database_error(path, error) from error
    except OSError as error:
        raise StateError(
            f"Cannot open the database {path}: {error.strerror or error}.",
            "Check the data folder's permissions and free space.",
        ) from error


def database_error(path: Path, error: sqlite3.Error) -> StateError:
    """One line naming the file: damaged, read-only, full, or locked. For any sqlite3.Error
    met on the database (a sync's write on a full disk too)."""
    text = str(error).lower()
    if isinstance(error, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return StateError(
            f"The database {path} is damaged or is not a mirakl-woo database.",
            "Move it aside (the connector starts afresh without it) or restore a backup.",
        )
    if "readonly" in text or "read-only" in text:
        problem = "the file or its folder is read-only"
    elif "disk is full" in text or "disk full" in text:
        problem = "the disk is full"
    elif "unable to open" in text:
        problem = "it cannot be opened (check the folder's permissions)"
    elif "locked" in text:
        problem = "another process keeps it locked"
    else:
        problem = str(error)
    return StateError(
        f"Cannot use the database {path}: {problem}.",
        "Check the data folder's permissions and free space.",
    )
