"""A terminal progress bar (tqdm, on stderr) for the pipeline's named steps."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from tsmask_qgis.progress import Report

__all__ = ["TerminalProgress"]


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class TerminalProgress:
    """A ``Progress`` callback drawing one tqdm bar per step (search, load, detect, ...).

    Silent when ``quiet`` or when ``stream`` (stderr) is not a terminal, so logs
    and pipes stay clean. Use as a context manager to close the last bar.
    """

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = not quiet and bool(isatty and isatty())
        self._bar: Any = None
        self._step: str | None = None

    def __call__(self, r: Report) -> None:
        if not self.enabled:
            return
        if r.step != self._step:
            self._open(r.step)
        if r.fraction is not None:
            self._bar.n = round(100 * min(max(r.fraction, 0.0), 1.0), 1)
        self._bar.set_postfix_str(r.message[:50], refresh=False)
        self._bar.refresh()

    def _open(self, step: str) -> None:
        from tqdm import tqdm

        self.close()
        self._step = step
        sized = _columns(self.stream) > 0
        self._bar = tqdm(
            total=100,
            desc=f"{step:<7}",
            unit="%",
            file=self.stream,
            leave=True,
            disable=False,  # we decided above; tqdm's own default may disable itself
            # some pseudo-terminals report 0 columns, which would hide the bar
            ncols=None if sized else 100,
            nrows=None if sized else 24,
            dynamic_ncols=sized,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed} {postfix}",
        )

    def close(self) -> None:
        if self._bar is not None:
            if self._step is not None:
                self._bar.n = 100
                self._bar.refresh()
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None and exc[0] is not None:
            self._bar.close()  # leave a failed step where it stopped
            self._bar = None
        self.close()
