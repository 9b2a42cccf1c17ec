"""Keeps secret values out of log files: a registry of raw values and a logging filter."""

from __future__ import annotations

import logging
import threading

from connector.secret import Secret, mask

_known: set[str] = set()
_lock = threading.Lock()


def register(value: str | Secret) -> None:
    raw = value.reveal() if isinstance(value, Secret) else value
    if len(raw) >= 6:
        with _lock:
            _known.add(raw)


def scrub(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for raw in known:
        if raw in text:
            text = text.replace(raw, mask(raw))
    return text


class RedactingFilter(logging.Filter):
    """Formats the record once, scrubbed, so no argument can carry a raw secret out."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(log_path: str | None, level: int = logging.INFO) -> None:
    """Log to the data folder's file (0600), never to the terminal."""
    import os

    root = logging.getLogger("connector")
    root.setLevel(level)
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    if log_path is None:
        root.addHandler(logging.NullHandler())
        return
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
