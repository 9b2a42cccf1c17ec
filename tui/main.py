"""The `mirakl-woo` command: the entry point above both faces. Headless commands go to the
engine's CLI without importing Textual; no command, or `demo`, opens the app."""

from __future__ import annotations

import gc
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
    words = sys.argv[1:] if argv is None else list(argv)
    collecting = gc.isenabled()
    if not words:
        # The app's start makes some 60 000 objects (Textual's modules and classes, the first
        # screen) that live as long as it does; the collector would scan them again and again,
        # a tenth of the time to the first frame. It stays off until that frame is drawn: the
        # app then freezes what it made out of the collector's sight and turns it back on.
        gc.disable()
    from connector.cli import main as run_command

    try:
        return run_command(words, faces={None: open_app, "demo": open_demo})
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
