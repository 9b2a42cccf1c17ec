"""Survive a closed terminal (a dropped SSH session) long enough to shut down cleanly.

When the terminal goes away, Textual's output thread dies on its first write (EIO) and the
next 30 writes fill its queue; the 31st blocks the app's shutdown forever, before the
workers are cancelled, so a running job never gets to journal itself as interrupted.
After an OSError this thread keeps draining the queue and drops what it reads.
Written against textual==8.2.8, which pyproject pins exactly.
"""

from __future__ import annotations

from textual.drivers import linux_driver
from textual.drivers._writer_thread import WriterThread


class HangupSafeWriterThread(WriterThread):
    """Textual's writer thread, which keeps taking writes after the terminal is gone."""

    def run(self) -> None:
        try:
            super().run()
        except OSError:
            while self._queue.get() is not None:
                pass


def install() -> None:
    linux_driver.WriterThread = HangupSafeWriterThread  # type: ignore[misc]
