"""Authorize both accounts. A refused or unreachable account writes nothing at all."""

from __future__ import annotations

import re

from connector.engine import (
    MIRAKL,
    MIRAKL_SECRET,
    WOO_KEY,
    WOO_SECRET,
    WOOCOMMERCE,
    Engine,
)
from connector.errors import ConnectorError, UsageError
from connector.pacing import Pacer
from connector.secret import Secret
from connector.store import Account, Store

_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,256}$")
_WOO_KEY = re.compile(r"^ck_[0-9a-f]{40}$")
_WOO_SECRET = re.compile(r"^cs_[0-9a-f]{40}$")


def check_mirakl_input(client_id: str, client_secret: Secret, company_id: str | None) -> None:
    if not client_id.strip():
        raise UsageError("The client ID is empty.", "Copy it from Mirakl Connect › Settings › API.")
    if not _ID.match(client_id.strip()):
        raise UsageError(
            "The client ID has characters a Mirakl client ID never has (spaces, quotes…).",
            "Copy it again from Mirakl Connect › Settings › API.",
        )
    if not client_secret.reveal().strip():
        raise UsageError("The client secret is empty.", "Paste the secret shown with the client.")
    if company_id and not _ID.match(company_id.strip()):
        raise UsageError(
            "The company ID is not valid.", "Leave it empty unless Mirakl asked for it."
        )


_WOO_HINT = "Copy it from WooCommerce › Settings › Advanced › REST API › Add key."


def check_woo_key(consumer_key: Secret) -> None:
    if not _WOO_KEY.match(consumer_key.reveal().strip()):
        raise UsageError(
            "That is not a WooCommerce consumer key (ck_ and 40 characters).", _WOO_HINT
        )


def check_woo_input(consumer_key: Secret, consumer_secret: Secret) -> None:
    hint = _WOO_HINT
    check_woo_key(consumer_key)
    if not _WOO_SECRET.match(consumer_secret.reveal().strip()):
        raise UsageError("That is not a WooCommerce consumer secret (cs_ and 40 characters).", hint)


def _scratch_pacer(engine: Engine) -> tuple[Pacer, Store | None]:
    """Before the first success nothing may be written, so calls are timed in memory."""
    if engine.exists:
        return engine.pacer(), None
    scratch = Store(None)
    return engine.pacer(scratch), scratch


def _keep_pacing(engine: Engine, scratch: Store | None) -> None:
    if scratch is not None:
        engine.store.merge_pacing(scratch.pacing_rows())
        scratch.close()


def _refuse_other_seller(engine: Engine, client_id: str, company_id: str | None) -> None:
    """The ledger names products of the connected seller: another account would make a later
    disconnect act on someone else's catalog. A new secret for the same client is fine."""
    store = engine.peek_store()
    account = store.account(MIRAKL) if store else None
    if store is None or account is None or store.linked_count() == 0:
        return
    same = (
        account.details.get("client_id") == client_id
        and (account.details.get("company_id") or None) == company_id
    )
    if not same:
        raise UsageError(
            "Another Mirakl Connect account is connected and has products from this store.",
            "Disconnect first (mirakl-woo disconnect), then authorize the new account.",
        )


def _refuse_other_store(engine: Engine, store_url: str) -> None:
    """Like the Mirakl seller: the ledger maps the connected store's products; another store
    over it would make the next sync set every one of them to 0 on Mirakl Connect. The same
    store (same normalized URL) with new keys is fine."""
    from connector.clients.woocommerce import normalize_store_url

    store = engine.peek_store()
    account = store.account(WOOCOMMERCE) if store else None
    if store is None or account is None:
        return
    if store.linked_count() == 0 and next(store.iter_ledger(), None) is None:
        return
    connected = str(account.details.get("url") or "")
    try:
        same = normalize_store_url(connected) == store_url
    except UsageError:
        same = False
    if not same:
        raise UsageError(
            f"Another WooCommerce store ({connected}) is connected and its products are in "
            "the ledger.",
            "Disconnect first (mirakl-woo disconnect), then connect the new store.",
        )


class DisconnectInProgress(ConnectorError):
    """A disconnect is running, or is deleting the data folder: nothing may be saved now."""

    exit_code = 1


def _refuse_during_disconnect(engine: Engine) -> None:
    """Saving an account while a disconnect runs (in another process) or has reached its
    wipe would leave files in a data folder being deleted. An interrupted disconnect still
    in its catalog step does not refuse: authorizing again may be what it needs to go on."""
    from connector.jobs import is_runner_active

    store = engine.peek_store()
    job = store.open_job("disconnect") if store else None
    if store is None or job is None:
        return
    if is_runner_active(store) and job.state == "running":
        raise DisconnectInProgress(
            "A disconnect is running on this data folder: nothing can be authorized now.",
            "Wait for it to finish (mirakl-woo status), then connect again.",
        )
    if job.step == "wipe":
        raise DisconnectInProgress(
            "A disconnect stopped while deleting the local data: nothing can be authorized "
            "until it is finished.",
            "Finish it with `mirakl-woo jobs resume`, then connect again.",
        )


def _check_not_wiped(engine: Engine) -> None:
    """After saving: a disconnect that wiped the folder meanwhile took the database; the
    secrets just written must not stay behind without it."""
    from connector.jobs import DataFolderGone

    if engine.settings.db_path.exists():
        return
    engine.settings.secrets_path.unlink(missing_ok=True)
    engine.close()
    raise DataFolderGone(
        f"A disconnect deleted the data folder {engine.settings.home} meanwhile; "
        "nothing was saved.",
        "Connect again to start afresh.",
    )


async def connect_mirakl(
    engine: Engine, client_id: str, client_secret: Secret, company_id: str | None = None
) -> Account:
    """Exchange the credentials for a token and make one cheap read; save only if both work."""
    client_id = client_id.strip()
    company_id = (company_id or "").strip() or None
    client_secret = Secret(client_secret.reveal().strip())
    check_mirakl_input(client_id, client_secret, company_id)
    _refuse_during_disconnect(engine)
    _refuse_other_seller(engine, client_id, company_id)
    pacer, scratch = _scratch_pacer(engine)
    try:
        async with engine.new_mirakl_client(client_id, client_secret, company_id, pacer) as client:
            details = await client.probe()
    except BaseException:
        if scratch is not None:
            scratch.close()
        raise
    _keep_pacing(engine, scratch)
    details = {**details, "client_id": client_id, "company_id": company_id}
    account = engine.store.save_account(MIRAKL, details)
    engine.secrets.set(**{MIRAKL_SECRET: client_secret})
    _check_not_wiped(engine)
    name = (details.get("company_name") or client_id).rstrip(".")
    engine.store.log_activity(f"Mirakl Connect authorized for {name}.")
    return account


async def connect_woocommerce(
    engine: Engine, url: str, consumer_key: Secret, consumer_secret: Secret
) -> Account:
    """Check the site is a WooCommerce store and the key may read and write; then save."""
    from connector.clients.woocommerce import normalize_store_url

    store_url = normalize_store_url(url)
    consumer_key = Secret(consumer_key.reveal().strip())
    consumer_secret = Secret(consumer_secret.reveal().strip())
    check_woo_input(consumer_key, consumer_secret)
    _refuse_during_disconnect(engine)
    _refuse_other_store(engine, store_url)
    async with engine.new_woo_client(store_url, consumer_key, consumer_secret) as client:
        details = await client.connect()
    account = engine.store.save_account(WOOCOMMERCE, details)
    engine.secrets.set(**{WOO_KEY: consumer_key, WOO_SECRET: consumer_secret})
    _check_not_wiped(engine)
    engine.store.log_activity(
        f"WooCommerce store {details.get('store_name') or store_url} authorized "
        f"(key …{consumer_key.last(7)})."
    )
    return account
