"""Messages screens post for the App to act on (routing lives in the App, not in screens)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class AccountsChanged(Message):
    """An account was authorized: the App routes to the next screen the state calls for."""


@dataclass
class Disconnected(Message):
    """The disconnect job finished and the data folder was wiped; `receipt` is its summary."""

    receipt: Any
