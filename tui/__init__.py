"""Textual face of the connector."""
