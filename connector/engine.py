"""The one object both faces (CLI and TUI) hold: settings, state, and the two clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector import redact
from connector.errors import NotConnected
from connector.pacing import Pacer
from connector.secret import Secret
from connector.secrets_file import SecretsFile
from connector.settings import Settings
from connector.store import Store

if TYPE_CHECKING:
    import httpx

    from connector.clients.mirakl import MiraklClient
    from connector.clients.woocommerce import WooClient

MIRAKL = "mirakl"
WOOCOMMERCE = "woocommerce"
MIRAKL_SECRET = "mirakl.client_secret"
WOO_KEY = "woocommerce.consumer_key"
WOO_SECRET = "woocommerce.consumer_secret"


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

    @classmethod
    def from_env(cls, **kwargs: Any) -> Engine:
        return cls(Settings.from_env(), **kwargs)

    @property
    def exists(self) -> bool:
        """True once something was saved: an account, a ledger, a job."""
        return self.settings.db_path.exists()

    @property
    def store(self) -> Store:
        if self._store is None:
            self.settings.ensure_home()
            self._store = Store(self.settings.db_path)
        return self._store

    def peek_store(self) -> Store | None:
        """The store if the data folder holds one; never creates it."""
        return self.store if self.exists else None

    @property
    def secrets(self) -> SecretsFile:
        return SecretsFile(self.settings.secrets_path)

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
            **self.client_options.get(MIRAKL, {}),
        )

    def new_woo_client(
        self, url: str, key: Secret, secret: Secret, auth_mode: str | None = None
    ) -> WooClient:
        from connector.clients.woocommerce import WooClient

        redact.register(key)
        redact.register(secret)
        return WooClient(
            url=url,
            consumer_key=key,
            consumer_secret=secret,
            auth_mode=auth_mode,
            transport=self.woo_transport,
            **self.client_options.get(WOOCOMMERCE, {}),
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
        return self.new_woo_client(details["url"], key, secret, details.get("auth_mode"))
