"""Local stand-ins for Mirakl Connect and a WooCommerce store (ASGI), for the demo, tests and
benchmarks. They follow the same public documents as the real services."""
