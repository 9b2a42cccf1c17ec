"""Every error a user can meet: a one-line message, a hint, and the CLI exit code."""

from __future__ import annotations


class ConnectorError(Exception):
    """An error the user can read and act on. The traceback goes to the log, never the screen."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

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
        self.errors = errors or []


class NotConnected(ConnectorError):
    """An action needs an account that is not connected yet."""

    exit_code = 1


class JobInterrupted(ConnectorError):
    """Long work stopped part-way; running the same command again resumes it."""

    exit_code = 5
