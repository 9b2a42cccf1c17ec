"""Counts in words, the same everywhere (app, CLI, receipts, activity lines)."""

from __future__ import annotations


def count(n: int, word: str, plural: str | None = None) -> str:
    """`1 product`, `1,823 products`: the number with thousands separators, the word agreed."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
