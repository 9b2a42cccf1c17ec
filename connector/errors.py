"""Every error a user can meet: a one-line message, a hint, and the CLI exit code."""

from __future__ import annotations

import re
from typing import Any

from connector.redact import scrub

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: Any, *, collapse: bool = True) -> str:
    """Text from anywhere made fit to show and store: registered and secret-shaped values
    masked (connector.redact.scrub), control characters (terminal escapes too) gone, one line
    (runs of spaces kept only when not `collapse`)."""
    line = _CONTROL.sub(" ", scrub(str(text or "")))
    return " ".join(line.split()) if collapse else line


class ConnectorError(Exception):
    """An error the user can read and act on. The traceback goes to the log, never the screen."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, code: str | None = None) -> None:
        message, hint = clean(message), clean(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = (clean(code) or None) if code is not None else None

    def __str__(self) -> str:
        return self.message

    def one_line(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class UsageError(ConnectorError):
    """Bad input from the user: an option, a URL, a confirmation word."""

    exit_code = 2


class CredentialsRefused(ConnectorError):
    """The remote system refused the credentials (wrong id, key, secret or permission)."""

    exit_code = 3


class RemoteUnavailable(ConnectorError):
    """The remote system could not be reached, timed out, or answered something unusable."""

    exit_code = 4


class RemoteRejected(ConnectorError):
    """The remote system understood the request and refused it (validation, state)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message, hint, code=code)
        self.status = status
        self.errors = [{str(k): clean(v) for k, v in entry.items()} for entry in errors or []]


class NotConnected(ConnectorError):
    """An action needs an account that is not connected yet."""

    exit_code = 1


class JobInterrupted(ConnectorError):
    """Long work stopped part-way; running the same command again resumes it."""

    exit_code = 5
