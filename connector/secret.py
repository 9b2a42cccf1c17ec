"""A secret value that never shows itself in full: repr, str and f-strings are masked."""

from __future__ import annotations

from typing import Final

_KNOWN_PREFIXES: Final = ("ck_", "cs_")


def mask(value: str) -> str:
    """`ck_…3f9a` for a WooCommerce key, `…3f9a` for anything long enough, `****` otherwise."""
    if len(value) < 12:
        return "****"
    prefix = next((p for p in _KNOWN_PREFIXES if value.startswith(p)), "")
    return f"{prefix}…{value[-4:]}"


class Secret:
    """Wraps a credential. Use `reveal()` only where the value leaves for its own server."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = value

    def reveal(self) -> str:
        return self._value

    def last(self, n: int) -> str:
        """The last `n` characters, as WordPress admin shows them for a key (n=7)."""
        return self._value[-n:]

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")
