from __future__ import annotations

import logging
import pickle

import pytest

from connector import redact
from connector.secret import Secret, mask

KEY = "ck_0123456789abcdef0123456789abcdef01233f9a"


def test_secret_is_masked_in_every_text_form() -> None:
    secret = Secret(KEY)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "{}".format(secret)):  # noqa: UP032
        assert KEY not in text
        assert "3f9a" in text
    assert str(secret) == "ck_…3f9a"
    assert secret.reveal() == KEY
    assert secret.last(7) == KEY[-7:]


def test_short_values_show_nothing() -> None:
    assert mask("abc") == "****"
    assert "abc" not in repr(Secret("abc"))


def test_secret_refuses_pickling() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_log_lines_are_scrubbed(tmp_path) -> None:
    path = tmp_path / "x.log"
    redact.setup_logging(str(path))
    redact.register(Secret(KEY))
    logger = logging.getLogger("connector.test")
    logger.info("url was https://shop/?consumer_key=%s", KEY)
    try:
        raise ValueError(f"bad {KEY}")
    except ValueError:
        logger.exception("failed")
    redact.setup_logging(None)
    text = path.read_text()
    assert KEY not in text
    assert "ck_…3f9a" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
