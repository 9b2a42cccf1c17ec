"""What long work reports while it runs. Services call `on_event`; faces render it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Progress:
    """`done` of `total` items in `step`; `eta` in seconds (None while unknown)."""

    job: str
    step: str
    done: int
    total: int
    eta: float | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One line for the activity log as it happens."""

    message: str
    level: str = "info"


@dataclass(frozen=True, slots=True)
class Waiting:
    """Waiting `seconds` for Mirakl Connect's next call slot of `operation`."""

    operation: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The job ended; `summary` is JSON-ready."""

    job: str
    summary: dict[str, Any] = field(default_factory=dict)


Event = Progress | Activity | Waiting | Finished
OnEvent = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default listener."""


def format_duration(seconds: float) -> str:
    """`45 s`, `2 min 05 s`, `1 h 04 min`: how long a person waits, to the second."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
