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
from connector.errors import UsageError
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
    same = account.details.get("client_id") == client_id and (
        account.details.get("company_id") or None
    ) == company_id
    if not same:
        raise UsageError(
            "Another Mirakl Connect account is connected and has products from this store.",
            "Disconnect first (mirakl-woo disconnect), then authorize the new account.",
        )


async def connect_mirakl(
    engine: Engine, client_id: str, client_secret: Secret, company_id: str | None = None
) -> Account:
    """Exchange the credentials for a token and make one cheap read; save only if both work."""
    client_id = client_id.strip()
    company_id = (company_id or "").strip() or None
    client_secret = Secret(client_secret.reveal().strip())
    check_mirakl_input(client_id, client_secret, company_id)
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
    async with engine.new_woo_client(store_url, consumer_key, consumer_secret) as client:
        details = await client.connect()
    account = engine.store.save_account(WOOCOMMERCE, details)
    engine.secrets.set(**{WOO_KEY: consumer_key, WOO_SECRET: consumer_secret})
    engine.store.log_activity(
        f"WooCommerce store {details.get('store_name') or store_url} authorized "
        f"(key …{consumer_key.last(7)})."
    )
    return account
