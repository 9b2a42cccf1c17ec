"""redact.scrub: registered secrets and secret-shaped text, in every form a remote system or
an exception may repeat them; ConnectorError scrubs what it is given."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pytest

from connector import redact
from connector.errors import ConnectorError, CredentialsRefused, RemoteRejected, clean
from connector.secret import Secret

WOO_KEY = "ck_" + "0123456789abcdef" * 2 + "01234567"
WOO_SECRET = "cs_" + "fedcba9876543210" * 2 + "76543210"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIiwiYXVkIjoiY29tcGFueSJ9."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)


def _unregistered(prefix: str = "") -> str:
    """A fresh value nobody registered: only the patterns can catch it."""
    return prefix + "Zq" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")


# --- registered secrets, in every encoding -----------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "plain-secret-value-123",
        "with space & ampersand = equals",
        'quote"and\\backslash-secret',
        "unicode-sécret-ü-ß-value",
        "slash/plus+percent%-secret",
        "<html>&amp;-secret-value",
    ],
)
def test_a_registered_secret_is_masked_in_every_usual_encoding(raw: str) -> None:
    redact.register(Secret(raw))
    for text in (
        raw,
        quote(raw, safe=""),
        quote_plus(raw),
        quote(raw),
        json.dumps(raw)[1:-1],
        json.dumps(raw, ensure_ascii=False)[1:-1],
        urlencode({"grant_type": "client_credentials", "client_secret": raw}),
        json.dumps({"error": urlencode({"x": raw})}),
        f"prefix {raw} suffix",
    ):
        scrubbed = redact.scrub(text)
        assert raw not in scrubbed, text
        for encoded in (quote(raw, safe=""), quote_plus(raw)):
            assert encoded not in scrubbed, text


# --- secret-shaped text nobody registered ------------------------------------------------


def _cases() -> list[tuple[str, str]]:
    """(text, the value that must not survive)."""
    cases = []
    for field in (
        "client_secret",
        "consumer_secret",
        "consumer_key",
        "oauth_signature",
        "access_token",
        "refresh_token",
        "password",
        "CLIENT_SECRET",
        "oauth_consumer_key",
    ):
        value = _unregistered()
        cases += [
            (f"{field}={value}", value),
            (f"grant_type=client_credentials&{field}={value}&audience=x", value),
            (f"{field}: {value}", value),
            (f'{{"{field}": "{value}"}}', value),
            (f"{{'{field}': '{value}'}}", value),
            (f'{{\\"{field}\\": \\"{value}\\"}}', value),
            (f"https://shop.example/wp-json/wc/v3/products?{field}={value}&page=2", value),
            (f"{field} = {value}", value),
        ]
    spaced = "two words " + _unregistered()
    cases.append((f'{{"client_secret": "{spaced}"}}', spaced))
    token = _unregistered()
    cases += [
        (f"Authorization: Bearer {token}", token),
        (f"authorization: Basic {base64.b64encode(b'ck_x:cs_y-1234').decode()}", "Y2tfeDpjc195"),
        (f'"Authorization": "Bearer {token}"', token),
        (f"Proxy-Authorization: Basic {token}", token),
        (f"sent with Bearer {token} to the API", token),
        (f"header was Basic {token}==", token),
    ]
    cases += [(f"key {WOO_KEY} refused", WOO_KEY), (f"secret={WOO_SECRET}", WOO_SECRET)]
    cases += [(f"the token {JWT} expired", JWT), (f"Bearer {JWT}", JWT)]
    password = _unregistered()
    cases.append((f"https://admin:{password}@shop.example/wp-json/", password))
    key = "ck_" + secrets.token_hex(20)
    cases += [(f"({key})", key), (f"'{key}'", key), (f"{key}.", key)]
    return cases


CASES = _cases()


@pytest.mark.parametrize(("text", "value"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_secret_shaped_text_is_masked_even_unregistered(text: str, value: str) -> None:
    scrubbed = redact.scrub(text)
    assert value not in scrubbed, scrubbed
    assert redact.scrub(scrubbed) == scrubbed, "idempotent"


@pytest.mark.parametrize(
    "text",
    [
        "Basic credentials did not reach WooCommerce; trying the query-string form",
        "HTTP Basic with the key and secret",
        "answered without a Bearer access token.",
        "The consumer secret does not match this key.",
        "Consumer secret is invalid.",
        "WooCommerce does not know this consumer key.",
        "Check the key (it starts with ck_) in WordPress admin.",
        "key …a1b2c3d",
        "https://shop.example/wp-json/wc/v3/products?per_page=100&page=2",
        "Mirakl Connect refused the client ID 'demo-client' or its secret.",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact.scrub(text) == text


def test_scrub_takes_anything() -> None:
    assert redact.scrub(None) is None
    assert redact.scrub(Secret(WOO_KEY)) == "ck_…4567"
    assert WOO_KEY not in redact.scrub(ValueError(f"bad {WOO_KEY}"))
    assert redact.scrub(42) == "42"


# --- ConnectorError ----------------------------------------------------------------------


def test_a_connector_error_scrubs_its_message_hint_code_and_field_errors() -> None:
    secret = _unregistered()
    form = f"grant_type=client_credentials&client_id=demo&client_secret={secret}"
    error = RemoteRejected(
        f"refused ({form})",
        f"hint client_secret={secret}",
        code=form,
        status=400,
        errors=[{"field": "x", "message": f"access_token={secret}"}],
    )
    for text in (str(error), error.one_line(), error.hint, error.code, repr(error.args)):
        assert secret not in (text or "")
    assert secret not in json.dumps(error.errors)


def test_a_connector_error_is_one_line_without_terminal_escapes() -> None:
    error = CredentialsRefused("first\nsecond\r\n\x1b[31mred\x1b[0m\u2028end", "a\tb")
    assert error.one_line() == "first second [31mred [0m end a b"
    assert "\x1b" not in error.one_line()
    assert clean("  keep   one  ") == "keep one"
    assert clean("a  b", collapse=False) == "a  b"


def test_a_registered_secret_in_an_error_message_is_masked() -> None:
    raw = "registered-" + secrets.token_hex(8)
    redact.register(raw)
    error = ConnectorError(f"the server said {raw}")
    assert raw not in error.one_line() and raw[-4:] in error.one_line()


# --- logging -----------------------------------------------------------------------------


def test_a_log_file_that_cannot_be_opened_means_no_file_log(tmp_path: Path) -> None:
    folder = tmp_path / "mirakl-woo.log"
    folder.mkdir()  # a folder where the file should be
    try:
        assert redact.setup_logging(str(folder)) is False
        assert not redact.file_logging()
        logging.getLogger("connector.test").error("nowhere")
        assert redact.setup_logging(str(tmp_path / "missing" / "deeper" / "x.log")) is False
        assert not (tmp_path / "missing").exists(), "the data folder is never created here"
        assert redact.setup_logging(str(tmp_path / "logs" / "x.log")) is True
        assert (tmp_path / "logs" / "x.log").exists(), "the logs folder itself is created"
    finally:
        redact.setup_logging(None)


def test_nothing_of_ours_reaches_the_last_resort_handler(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "lastResort", logging.lastResort)
    for name in redact.LOGGERS:
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "propagate", logger.propagate)
    redact.quiet_terminal()
    logging.getLogger("connector.x").warning("client_secret=%s", WOO_SECRET)
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    logging.getLogger("elsewhere").error("a library's own record")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_failed_log_write_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.log"
    assert redact.setup_logging(str(path))
    try:
        handler = logging.getLogger("connector").handlers[0]
        assert isinstance(handler, logging.FileHandler)
        assert handler.stream is not None
        handler.stream.close()  # as a full disk or a vanished folder makes the write fail
        logging.getLogger("connector.test").error("lost %s", "record")
        logging.getLogger("connector.test").error("bad format %d", "not a number")
    finally:
        redact.setup_logging(None)
    assert capfd.readouterr().err == ""
