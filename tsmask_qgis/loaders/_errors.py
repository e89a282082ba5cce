"""Errors the loaders raise: each message says what is wrong and what to do."""

from __future__ import annotations

__all__ = ["InputError", "LoadError", "SearchError"]


class InputError(ValueError):
    """A request or a local input is invalid (bad bbox, dates, missing band, corrupt file)."""


class SearchError(RuntimeError):
    """The STAC catalogue could not be searched (server error, timeout, bad answer)."""


class LoadError(RuntimeError):
    """Pixel data could not be read; the message names the item and asset that failed."""
