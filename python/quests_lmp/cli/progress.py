"""Progress bars of the command line (tqdm: rate and time left, also in notebooks).

Shown only where someone watches: not under --quiet, not on MPI ranks other than 0 (the caller
passes enabled=False there), and not when the stream is neither a terminal nor a notebook.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class Progress:
    """`with Progress("dH", total) as bar: ... bar.advance(n)`; silent when disabled or unwatched."""

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        stream = stream or sys.stderr
        watched = stream.isatty() or "ipykernel" in sys.modules
        self._bar = tqdm(
            total=int(total),
            desc=label,
            file=stream,
            disable=not (enabled and watched and total > 0),
            dynamic_ncols=True,
            mininterval=0.1,
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()

    def advance(self, count: int = 1) -> None:
        self._bar.update(count)

    def reach(self, fraction: float) -> None:
        """Moves the bar to `fraction` (0 to 1) of its total."""
        self._bar.update(round(fraction * self._bar.total) - self._bar.n)
