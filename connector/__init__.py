"""The mirakl-woo engine: clients, state and services. Never imports Textual."""

__version__ = "0.1.0"
