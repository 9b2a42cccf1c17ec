"""Data the tests read, kept inside the repository so that a bare clone runs them."""

from pathlib import Path

SPECS = Path(__file__).resolve().parent / "specs"
"""Mirakl Connect's OpenAPI spec and WooCommerce's sample payloads (see specs/README.md)."""
