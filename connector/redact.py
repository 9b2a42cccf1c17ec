"""Keeps secret values out of everything shown or stored: a registry of raw values, patterns
for secret-shaped text nobody registered, and a logging filter. Logging never reaches the
terminal: a file in the data folder, or nowhere."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import threading
from typing import Any, overload
from urllib.parse import quote, quote_plus

from connector.secret import Secret, mask

#: The loggers whose records are ours to route: the engine's, asyncio's ("Task exception
#: was never retrieved" carries our exceptions and their messages), and warnings'.
LOGGERS = ("connector", "asyncio", "py.warnings")

# raw value, or one of its encodings (percent-encoded in a form or URL, escaped in JSON or
# HTML) -> the mask of the raw value
_known: dict[str, str] = {}
_ordered: list[str] = []  # the keys of _known, longest first
_lock = threading.Lock()
_file_logging = False

# --- patterns: secret-shaped text, registered or not -------------------------------------

_FIELDS = (
    "client_secret|consumer_secret|consumer_key|oauth_signature|oauth_token_secret"
    "|access_token|refresh_token|id_token|api_key|apikey|password|passwd"
)
_SEP = r"""\\*["']?\s*[:=]\s*"""
#: `client_secret="a b"`, `"consumer_secret": "…"` (a quoted value, spaces and all)
_QUOTED_FIELD = rf"(?i)((?:{_FIELDS}){_SEP})(\\*[\"'])([^\"'\r\n]*)"
#: `client_secret=abc&…`, `consumer_key: ck_…` (up to the next separator)
_FIELD = rf"(?i)((?:{_FIELDS}){_SEP})([^\s&\"',;}}\]<>\\]+)"
#: `Authorization: Basic …`, `"authorization": "Bearer …"`: the whole value
_AUTHORIZATION = r"""(?i)((?:proxy-)?authorization\\*["']?\s*[:=]\s*\\*["']?)([^"'\r\n,;}]+)"""
#: `Bearer <token>`, `Basic <base64>` anywhere in a text
_SCHEME_TOKEN = r"(?i)\b(bearer|basic|digest)(\s+)([A-Za-z0-9\-._~+/]+=*)"
#: WooCommerce keys and secrets
_WOO_KEY = r"\b(?:ck|cs)_[A-Za-z0-9]{20,}"
#: JWTs (Mirakl Connect's access tokens are)
_JWT = r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"
#: `https://user:password@host`
_USERINFO = r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)"


@functools.cache
def _compiled() -> tuple[re.Pattern[str], ...]:
    """The patterns above, compiled on the first scrub (a millisecond and a half the app's
    start does not need)."""
    return tuple(
        re.compile(pattern)
        for pattern in (
            _QUOTED_FIELD, _FIELD, _AUTHORIZATION, _SCHEME_TOKEN, _WOO_KEY, _JWT, _USERINFO
        )
    )


def _variants(raw: str) -> set[str]:
    """The raw value and how a form, a URL, JSON or HTML would carry it."""
    import html  # with its table of entities: a millisecond the app's start does not need

    found = {raw, quote(raw, safe=""), quote_plus(raw), quote(raw), html.escape(raw)}
    found.add(json.dumps(raw)[1:-1])
    found.add(json.dumps(raw, ensure_ascii=False)[1:-1])
    return {v for v in found if len(v) >= 6}


def register(value: str | Secret) -> None:
    """Remember a secret: from now on `scrub` masks it (and its usual encodings) anywhere."""
    raw = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(raw, str) or len(raw) < 6:
        return
    masked = mask(raw)
    with _lock:
        if raw in _known:
            return
        for variant in _variants(raw):
            _known.setdefault(variant, masked)
        _ordered[:] = sorted(_known, key=len, reverse=True)


def _masked(value: str) -> str:
    """`mask`, leaving what is masked already (`…3f9a`, `ck_…3f9a`, `****`) as it is."""
    if "…" in value or (value and set(value) == {"*"}):
        return value
    return mask(value)


def _token_like(text: str) -> bool:
    """A credential after `Bearer`/`Basic`, not a word (`Basic credentials`)."""
    if len(text) < 8:
        return False
    return len(text) >= 24 or any(c.isdigit() or c in "=+/._-~" for c in text)


def _scheme_token(match: re.Match[str]) -> str:
    token = match.group(3)
    if not _token_like(token):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}****"


@overload
def scrub(text: str) -> str: ...


@overload
def scrub(text: None) -> None: ...


def scrub(text: Any) -> Any:
    """The text with every registered secret and every secret-shaped value masked.

    Safe on any text from outside (remote error bodies, exception messages) before it is
    shown or stored; idempotent; None stays None, anything else becomes its (scrubbed) str.
    """
    if text is None:
        return None
    if isinstance(text, Secret):
        return text.masked
    if not isinstance(text, str):
        text = str(text)
    if not text:
        return text
    with _lock:
        ordered = list(_ordered)
        known = dict(_known)
    for raw in ordered:
        if raw in text:
            text = text.replace(raw, known[raw])
    quoted_field, field, authorization, scheme_token, woo_key, jwt, userinfo = _compiled()
    text = quoted_field.sub(lambda m: f"{m.group(1)}{m.group(2)}{_masked(m.group(3))}", text)
    text = field.sub(lambda m: f"{m.group(1)}{_masked(m.group(2))}", text)
    text = authorization.sub(lambda m: f"{m.group(1)}****", text)
    text = scheme_token.sub(_scheme_token, text)
    text = woo_key.sub(lambda m: mask(m.group(0)), text)
    text = jwt.sub(lambda m: mask(m.group(0)), text)
    text = userinfo.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return text


# --- logging -----------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Formats the record once, scrubbed, so no argument can carry a raw secret out."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not become a "Logging error" traceback
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class _FileHandler(logging.FileHandler):
    """A failed write (a full disk, a folder gone) is dropped, never printed on the terminal
    (logging's default prints a "--- Logging error ---" traceback on stderr)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        pass

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().close()


class _Nowhere(logging.NullHandler):
    """logging.lastResort's replacement: a record no handler took is dropped, not printed."""


def quiet_terminal() -> None:
    """Before anything logs: our records (and asyncio's) go to a handler of ours, never to
    logging's last-resort handler, which prints WARNING and above on stderr, unredacted."""
    logging.lastResort = _Nowhere()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())


def file_logging() -> bool:
    """True while records go to a log file (the last `setup_logging` could open it)."""
    return _file_logging


def setup_logging(log_path: str | None, level: int = logging.INFO) -> bool:
    """Log to the data folder's file (0600), never to the terminal. A file that cannot be
    opened (a read-only or full disk, a folder where the file should be) means no file log,
    silently: the command itself goes on. True when the file is open."""
    global _file_logging
    quiet_terminal()
    handler: logging.Handler = logging.NullHandler()
    opened = False
    if log_path is not None:
        try:
            folder = os.path.dirname(log_path)
            if folder and not os.path.isdir(folder) and os.path.isdir(os.path.dirname(folder)):
                os.mkdir(folder, 0o700)  # the logs folder only, never the data folder
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            handler = _FileHandler(log_path, encoding="utf-8")
            opened = True
        except (OSError, ValueError):
            handler = logging.NullHandler()
    if opened:
        handler.addFilter(RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if name == "connector":
            logger.setLevel(level)
        logger.propagate = False
        for old in list(logger.handlers):
            logger.removeHandler(old)
            if old is not handler:
                with contextlib.suppress(Exception):
                    old.close()
        logger.addHandler(handler)
    _file_logging = opened
    return opened
