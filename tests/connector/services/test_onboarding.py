from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import CredentialsRefused, UsageError
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from connector.secret import Secret
from connector.services import onboarding
from connector.services.status import status
from tests.sandboxes import STORE_URL, make_world


async def test_connect_both_saves_accounts_and_0600_secrets(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect(sync_on=False)
    data = status(world.engine)
    assert data["mirakl"]["client_id"] == DEMO_CLIENT_ID
    assert data["mirakl"]["company_name"] == "Demo Seller Co."
    assert data["woocommerce"]["key_last7"] == DEMO_CONSUMER_KEY[-7:]
    assert data["woocommerce"]["store_name"] == "Demo Store"
    assert data["sync_products"] is False
    secrets = world.engine.settings.secrets_path
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert mirakl_woo_home.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("client_id", "secret", "error"),
    [
        ("", DEMO_CLIENT_SECRET, UsageError),
        ("has space", DEMO_CLIENT_SECRET, UsageError),
        (DEMO_CLIENT_ID, "", UsageError),
        (DEMO_CLIENT_ID, "wrong-secret-value", CredentialsRefused),
        ("unknown-client", DEMO_CLIENT_SECRET, CredentialsRefused),
    ],
)
async def test_refused_mirakl_credentials_write_nothing(
    mirakl_woo_home: Path, client_id: str, secret: str, error: type[Exception]
) -> None:
    world = make_world(mirakl_woo_home)
    with pytest.raises(error) as caught:
        await onboarding.connect_mirakl(world.engine, client_id, Secret(secret))
    assert not mirakl_woo_home.exists()
    if secret:
        assert secret not in str(caught.value) + caught.value.hint


@pytest.mark.parametrize(
    ("url", "key", "secret", "error"),
    [
        ("", DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, UsageError),
        ("ht!tp://bad url", DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, UsageError),
        (STORE_URL, "ck_nothex", DEMO_CONSUMER_SECRET, UsageError),
        (STORE_URL, "ck_" + "0" * 40, DEMO_CONSUMER_SECRET, CredentialsRefused),
        (STORE_URL, DEMO_CONSUMER_KEY, "cs_" + "0" * 40, CredentialsRefused),
    ],
)
async def test_refused_store_writes_nothing(
    mirakl_woo_home: Path, url: str, key: str, secret: str, error: type[Exception]
) -> None:
    world = make_world(mirakl_woo_home)
    with pytest.raises(error):
        await onboarding.connect_woocommerce(world.engine, url, Secret(key), Secret(secret))
    assert not mirakl_woo_home.exists()


async def test_another_seller_cannot_take_over_linked_products(mirakl_woo_home: Path) -> None:
    from connector.services.sync import run_sync

    world = make_world(mirakl_woo_home)
    world.mirakl.clients["other-client"] = "other-secret-value"
    await world.connect()
    await run_sync(world.engine)
    with pytest.raises(UsageError, match="Another Mirakl Connect account"):
        await onboarding.connect_mirakl(world.engine, "other-client", Secret("other-secret-value"))
    assert status(world.engine)["mirakl"]["client_id"] == DEMO_CLIENT_ID
    # the same client with its secret again is fine (e.g. a rotated secret)
    await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))


@pytest.mark.parametrize(
    "url",
    [
        f"https://shop.example.com {DEMO_CONSUMER_SECRET}",
        f"https://shop.example.com:99999/?consumer_secret={DEMO_CONSUMER_SECRET}",
    ],
)
async def test_a_secret_pasted_into_the_url_is_not_repeated(
    mirakl_woo_home: Path, url: str
) -> None:
    world = make_world(mirakl_woo_home)
    with pytest.raises(UsageError) as caught:
        await onboarding.connect_woocommerce(
            world.engine, url, Secret(DEMO_CONSUMER_KEY), Secret(DEMO_CONSUMER_SECRET)
        )
    assert DEMO_CONSUMER_SECRET not in caught.value.one_line()
    assert not mirakl_woo_home.exists()


async def test_another_store_cannot_take_over_the_ledger(mirakl_woo_home: Path) -> None:
    from connector.services.sync import run_sync

    world = make_world(mirakl_woo_home)
    await world.connect()
    await run_sync(world.engine)
    calls = len(world.woo.calls)
    with pytest.raises(UsageError, match="Another WooCommerce store") as caught:
        await onboarding.connect_woocommerce(
            world.engine,
            "https://other-shop.test",
            Secret(DEMO_CONSUMER_KEY),
            Secret(DEMO_CONSUMER_SECRET),
        )
    assert caught.value.exit_code == 2 and STORE_URL in caught.value.message
    assert "Disconnect first" in caught.value.hint
    assert len(world.woo.calls) == calls  # refused before anything left
    assert status(world.engine)["woocommerce"]["url"] == STORE_URL
    # the same store, written another way, with its keys again: fine
    await onboarding.connect_woocommerce(
        world.engine, "HTTPS://Shop.Test/", Secret(DEMO_CONSUMER_KEY), Secret(DEMO_CONSUMER_SECRET)
    )
    assert status(world.engine)["woocommerce"]["url"] == STORE_URL


@pytest.mark.parametrize("path", ["/shop", ":8443"])
async def test_a_path_or_port_makes_another_store(mirakl_woo_home: Path, path: str) -> None:
    from connector.services.sync import run_sync

    world = make_world(mirakl_woo_home)
    await world.connect()
    await run_sync(world.engine)
    with pytest.raises(UsageError, match="Another WooCommerce store"):
        await onboarding.connect_woocommerce(
            world.engine,
            STORE_URL + path,
            Secret(DEMO_CONSUMER_KEY),
            Secret(DEMO_CONSUMER_SECRET),
        )


async def test_another_store_is_fine_while_the_ledger_is_empty(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect()
    await onboarding.connect_woocommerce(
        world.engine,
        "https://other-shop.test",
        Secret(DEMO_CONSUMER_KEY),
        Secret(DEMO_CONSUMER_SECRET),
    )
    assert status(world.engine)["woocommerce"]["url"] == "https://other-shop.test"


async def test_accounts_whose_secrets_vanished_need_authorizing_again(
    mirakl_woo_home: Path,
) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect(sync_on=False)
    data = status(world.engine)
    assert data["mirakl"]["needs_authorization"] is False
    assert data["woocommerce"]["needs_authorization"] is False
    world.engine.settings.secrets_path.unlink()
    data = status(world.engine)
    assert data["mirakl"]["needs_authorization"] is True
    assert data["woocommerce"]["needs_authorization"] is True
    assert data["mirakl"]["client_id"] == DEMO_CLIENT_ID  # still shown, as needing it
    await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
    data = status(world.engine)
    assert data["mirakl"]["needs_authorization"] is False
    assert data["woocommerce"]["needs_authorization"] is True


async def test_a_damaged_secrets_file_shows_as_needing_authorization(
    mirakl_woo_home: Path,
) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect(sync_on=False)
    world.engine.settings.secrets_path.write_text("{damaged")
    data = status(world.engine)
    assert data["mirakl"]["needs_authorization"] is True
    assert any("damaged" in warning for warning in data["warnings"])
    await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
    assert status(world.engine)["mirakl"]["needs_authorization"] is False


async def test_a_real_stores_addresses_are_saved_and_the_sync_uses_them(
    mirakl_woo_home: Path,
) -> None:
    """Plain permalinks and a home URL other than the address typed (WooCommerce 8.2.2, over
    http): connecting records both in the account, and the sync reads the store with them,
    a parent-managed variation carrying its parent's stock."""
    import httpx

    from connector.product_options import ProductOptions
    from connector.sandbox.catalog import Catalog
    from connector.sandbox.woocommerce import WooSandbox
    from connector.services.sync import run_sync, save_options

    world = make_world(mirakl_woo_home)
    world.woo = WooSandbox(
        catalog=Catalog(80, seed=3),
        permalinks="plain",
        home_url="http://127.0.0.1:8082",
        wc_version="8.2.2",
    )
    world.engine.woo_transport = httpx.ASGITransport(app=world.woo.app)
    await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
    account = await onboarding.connect_woocommerce(
        world.engine,
        "http://localhost:8082/index.php?rest_route=/",
        Secret(DEMO_CONSUMER_KEY),
        Secret(DEMO_CONSUMER_SECRET),
    )
    details = account.details
    assert details["url"] == "http://localhost:8082"
    assert details["home_url"] == "http://127.0.0.1:8082"
    assert details["permalinks"] == "plain"
    assert details["api_root"] == "http://localhost:8082/index.php?rest_route=/"
    assert details["wc_version"] == "8.2.2" and details["auth_mode"] == "oauth1"

    save_options(world.engine, ProductOptions(sync_products=True))
    report = await run_sync(world.engine)
    assert report.failed == 0
    catalog = world.woo.catalog
    shared = [
        (parent, item)
        for parent in catalog.iter_products(status="publish")
        if parent["type"] == "variable"
        for item in catalog.variations(parent["id"])
        if item["manage_stock"] == "parent"
        and item["sku"] != parent["sku"]
        and item["status"] == "publish"
    ]
    assert shared
    for parent, item in shared:
        pushed = world.mirakl.products[item["sku"]]["quantities"][0]["available_quantity"]
        assert pushed == max(0, parent["stock_quantity"])

    from connector.cli import format_status
    from connector.services.status import status

    shown = format_status(status(world.engine))
    assert "the store uses plain permalinks (API at ?rest_route=)" in shown
    assert (
        "WordPress home URL http://127.0.0.1:8082: requests are signed for it, sent to "
        "http://localhost:8082" in shown
    )


@pytest.mark.parametrize("permalinks", ["pretty", "plain"])
@pytest.mark.parametrize("scheme", ["https", "http"], ids=["basic-auth", "oauth1"])
async def test_a_store_in_a_sub_folder_connects_and_syncs(
    mirakl_woo_home: Path, scheme: str, permalinks: str
) -> None:
    """WordPress installed in /shop of its host: the address typed (or pasted from the admin)
    names the folder; the API, the OAuth signatures and the page links all live under it."""
    import httpx

    from connector.sandbox.catalog import Catalog
    from connector.sandbox.woocommerce import WooSandbox
    from connector.services.sync import run_sync

    world = make_world(mirakl_woo_home)
    world.woo = WooSandbox(catalog=Catalog(260, seed=4), site_path="/shop", permalinks=permalinks)
    world.engine.woo_transport = httpx.ASGITransport(app=world.woo.app)
    world.engine.client_options = {**world.engine.client_options, "woocommerce": {}}
    await onboarding.connect_mirakl(world.engine, DEMO_CLIENT_ID, Secret(DEMO_CLIENT_SECRET))
    account = await onboarding.connect_woocommerce(
        world.engine,
        f"{scheme}://shop.test/shop/wp-admin/admin.php?page=wc-settings",
        Secret(DEMO_CONSUMER_KEY),
        Secret(DEMO_CONSUMER_SECRET),
    )
    assert account.details["url"] == f"{scheme}://shop.test/shop"
    assert account.details["auth_mode"] == ("basic" if scheme == "https" else "oauth1")
    assert account.details.get("permalinks", "pretty") == permalinks

    from connector.product_options import ProductOptions
    from connector.services.sync import save_options

    save_options(world.engine, ProductOptions(sync_products=True))
    report = await run_sync(world.engine)
    assert report.failed == 0 and report.pushed > 0
    # The same catalog from a store at the host's root: the same products arrive.
    control = make_world(mirakl_woo_home.parent / "control", catalog_size=260, seed=4)
    await control.connect()
    await run_sync(control.engine)
    assert set(world.mirakl.products) == set(control.mirakl.products)
    assert len(world.mirakl.products) == report.pushed
    outside = [c for c in world.woo.calls if c.status == 404]
    assert outside == [], outside  # nothing was asked outside /shop (those answer 404)


async def test_the_host_root_of_a_sub_folder_store_is_not_a_wordpress_site(
    mirakl_woo_home: Path,
) -> None:
    """The folder left out of the address: one clear message, nothing saved."""
    import httpx

    from connector.errors import ConnectorError
    from connector.sandbox.woocommerce import WooSandbox

    world = make_world(mirakl_woo_home)
    world.woo = WooSandbox(site_path="/shop")
    world.engine.woo_transport = httpx.ASGITransport(app=world.woo.app)
    with pytest.raises(ConnectorError) as refused:
        await onboarding.connect_woocommerce(
            world.engine, "https://shop.test", Secret(DEMO_CONSUMER_KEY),
            Secret(DEMO_CONSUMER_SECRET),
        )  # fmt: skip
    assert "WordPress" in refused.value.message, refused.value.message
    assert status(world.engine)["woocommerce"] is None
    assert world.woo.calls and all(c.status == 404 for c in world.woo.calls)
