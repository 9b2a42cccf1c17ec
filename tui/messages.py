"""Messages screens post for the App to act on (routing lives in the App, not in screens)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class AccountsChanged(Message):
    """An account was authorized: the App routes to the next screen the state calls for."""


class Disconnected(Message):
    """The disconnect job finished and the data folder was wiped; `receipt` is its summary."""

    def __init__(self, receipt: Any) -> None:
        super().__init__()
        self.receipt = receipt
