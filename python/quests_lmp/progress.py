"""A progress bar on stderr for long command-line work: shown only on a terminal, never under --quiet."""

from __future__ import annotations

import sys
import time


class Progress:
    """`with Progress("dH", total) as bar: ... bar.advance(n)`; silent when disabled or not a TTY."""

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0 and self.stream.isatty()
        self.label, self.total, self.done = label, int(total), 0
        self.start = self._last = time.perf_counter()

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        self._draw()

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was created."""
        return time.perf_counter() - self.start

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.1 and self.done < self.total):
            return
        self._last = now
        fraction = self.done / self.total
        filled = int(30 * fraction)
        remaining = self.elapsed * (1 - fraction) / fraction if 0 < fraction < 1 else 0.0
        self.stream.write(f"\r{self.label}: [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                          f"{self.elapsed:.0f} s elapsed, {remaining:.0f} s left ")
        self.stream.flush()
