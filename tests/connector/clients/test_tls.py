"""Certificates over real loopback TLS (uvicorn with a certificate made by openssl): an untrusted
certificate is told from one for another host, MIRAKL_WOO_CA_FILE makes both clients trust a
private authority, and an http:// URL on an https port says so."""

from __future__ import annotations

import subprocess
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.clients.mirakl import MiraklClient
from connector.clients.woocommerce import WooClient
from connector.errors import RemoteUnavailable, UsageError
from connector.pacing import Pacer
from connector.sandbox.catalog import Catalog
from connector.sandbox.mirakl import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MiraklSandbox
from connector.sandbox.woocommerce import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, WooSandbox
from connector.secret import Secret
from connector.settings import Settings, ca_file_from_env
from connector.store import Store
from tests.connector.clients.test_woocommerce import serve

# The certificates are made with the openssl command (.ci/run installs it): without it these
# tests fail loudly, they are never skipped.


@dataclass(frozen=True)
class Certs:
    ca: Path  # the private authority, PEM
    key: Path
    leaf: Path  # for localhost and 127.0.0.1, signed by the authority
    other_key: Path
    other: Path  # for shop.example only, signed by the authority


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _leaf(folder: Path, name: str, san: str) -> tuple[Path, Path]:
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder,
    )  # fmt: skip
    (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.key", folder / f"{name}.pem"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("certs")
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test Shop CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign", cwd=folder,
    )  # fmt: skip
    key, leaf = _leaf(folder, "shop", "DNS:localhost,IP:127.0.0.1")
    other_key, other = _leaf(folder, "other", "DNS:shop.example")
    return Certs(folder / "ca.pem", key, leaf, other_key, other)


def serve_tls(app: Any, cert: Path, key: Path) -> AbstractAsyncContextManager[str]:
    """The app on 127.0.0.1 over TLS, in this event loop; yields its https:// base URL."""
    return serve(app, cert=cert, key=key)


def _woo(url: str, **kwargs: Any) -> WooClient:
    return WooClient(
        url=url,
        consumer_key=Secret(DEMO_CONSUMER_KEY),
        consumer_secret=Secret(DEMO_CONSUMER_SECRET),
        retry_wait=0.001,
        attempts=1,
        **kwargs,
    )


async def _connect_error(url: str, **kwargs: Any) -> RemoteUnavailable:
    async with _woo(url, **kwargs) as client:
        with pytest.raises(RemoteUnavailable) as caught:
            await client.connect()
    assert "\n" not in caught.value.one_line()
    return caught.value


async def test_a_private_authority_is_not_trusted_and_says_what_to_do(certs: Certs) -> None:
    async with serve_tls(WooSandbox().app, certs.leaf, certs.key) as base:
        error = await _connect_error(base, ca_file=None)
    assert "not trusted" in error.message and "not valid for this address" not in error.message
    assert "MIRAKL_WOO_CA_FILE" in error.hint


async def test_mirakl_woo_ca_file_makes_the_store_trusted(
    certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRAKL_WOO_CA_FILE", str(certs.ca))
    sandbox = WooSandbox(catalog=Catalog(30))
    async with serve_tls(sandbox.app, certs.leaf, certs.key) as base, _woo(base) as client:
        details = await client.connect()
        products = [p async for page in client.iter_product_pages() for p in page]
    assert details["auth_mode"] == "basic" and len(products) == 30


async def test_a_certificate_for_another_host_is_named_so(certs: Certs) -> None:
    async with serve_tls(WooSandbox().app, certs.other, certs.other_key) as base:
        error = await _connect_error(base, ca_file=certs.ca)
    assert "not valid for this address" in error.message
    assert "not trusted" not in error.message


async def test_http_on_an_https_port_says_the_port_speaks_https(certs: Certs) -> None:
    async with serve_tls(WooSandbox().app, certs.leaf, certs.key) as base:
        plain = base.replace("https://", "http://")
        error = await _connect_error(plain)
    assert "not a WordPress site" not in error.message
    assert "speaks HTTPS" in error.message
    assert f"Connect with the URL {base}" in error.hint


async def test_the_mirakl_client_honours_the_ca_file_too(
    certs: Certs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = MiraklSandbox(interval=0)
    with Store(tmp_path / "state.sqlite3") as store:
        async with serve_tls(sandbox.app, certs.leaf, certs.key) as base:

            def client() -> MiraklClient:
                return MiraklClient(
                    **MiraklSandbox.urls(base),
                    client_id=DEMO_CLIENT_ID,
                    client_secret=Secret(DEMO_CLIENT_SECRET),
                    company_id=None,
                    pacer=Pacer(store, 0),
                    retry_wait=0.001,
                    max_attempts=1,
                )

            monkeypatch.delenv("MIRAKL_WOO_CA_FILE", raising=False)
            async with client() as untrusting:
                with pytest.raises(RemoteUnavailable):
                    await untrusting.probe()
            monkeypatch.setenv("MIRAKL_WOO_CA_FILE", str(certs.ca))
            async with client() as trusting:
                details = await trusting.probe()
    assert details


# --- the setting itself -------------------------------------------------------------------


def test_the_ca_file_is_read_from_the_environment(certs: Certs, tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"MIRAKL_WOO_HOME": str(tmp_path), "MIRAKL_WOO_CA_FILE": str(certs.ca)}
    )
    assert settings.ca_file == certs.ca
    assert Settings.from_env({"MIRAKL_WOO_HOME": str(tmp_path)}).ca_file is None


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda folder: folder / "missing.pem", "does not exist"),
        (lambda folder: folder, "is a folder"),
        (lambda folder: _write(folder / "notes.txt", "just some text\n"), "holds no PEM"),
        (
            lambda folder: _write(
                folder / "broken.pem",
                "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            ),
            "cannot be read",
        ),
    ],
    ids=["missing", "folder", "not-pem", "damaged"],
)
def test_a_bad_ca_file_is_one_clear_line(make: Any, fragment: str, tmp_path: Path) -> None:
    path = make(tmp_path)
    with pytest.raises(UsageError) as caught:
        ca_file_from_env({"MIRAKL_WOO_CA_FILE": str(path)})
    line = caught.value.one_line()
    assert fragment in line and "MIRAKL_WOO_CA_FILE" in line and "\n" not in line
    assert caught.value.exit_code == 2


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
