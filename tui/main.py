"""The `mirakl-woo` command: the entry point above both faces. Headless commands go to the
engine's CLI without importing Textual; no command, or `demo`, opens the app."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # argparse costs milliseconds on the path to the app's first frame
    import argparse


def open_app(args: argparse.Namespace | None) -> int:
    from tui.launch import run_app

    return run_app()


def open_demo(args: argparse.Namespace | None) -> int:
    from tui.launch import run_demo

    assert args is not None
    return run_demo(
        connected=args.connected, catalog_size=args.catalog_size, interval=args.interval
    )


def main(argv: Sequence[str] | None = None) -> int:
    from connector.cli import main as run_command

    return run_command(argv, faces={None: open_app, "demo": open_demo})


if __name__ == "__main__":
    sys.exit(main())
