"""Signing asset URLs for catalogues that need it (Planetary Computer's SAS tokens).

A :class:`Signer` signs whole items before their assets are read and signs them again
when a token is (nearly) expired or the storage refuses it; :func:`resigner` gives the
lazy path's reader driver a picklable function that signs one URL afresh (a dask graph
can be computed long after it was built).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tsmask_qgis.loaders._errors import InputError
from tsmask_qgis.loaders._read import expires_soon
from tsmask_qgis.loaders._sources import Source

__all__ = ["Signer", "resigner"]

#: Signing methods a source may name (``Source.sign``).
METHODS = ("planetary-computer",)


def _planetary_computer(obj: Any, *, fresh: bool) -> Any:
    """An item or URL signed by Planetary Computer; ``fresh`` drops cached tokens first."""
    import planetary_computer
    import planetary_computer.sas as sas

    if fresh:
        sas.TOKEN_CACHE.clear()
    return planetary_computer.sign(obj)


class Signer:
    """Signs items for catalogues that need it; re-signs when a token is (nearly) expired."""

    def __init__(self, src: Source) -> None:
        if src.sign is not None and src.sign not in METHODS:
            raise InputError(
                f"source {src.name!r} names an unknown signing method {src.sign!r}; "
                f"known: {', '.join(METHODS)}",
                field="source",
            )
        self.kind = src.sign
        self._lock = threading.Lock()

    def __call__(self, item: Any, *, force: bool = False) -> Any:
        """``item`` with signed asset URLs (itself when the source needs no signing);
        ``force`` asks for a new token."""
        if self.kind is None:
            return item
        with self._lock:
            return _planetary_computer(item, fresh=force)

    def needs_resign(self, item: Any) -> bool:
        """Whether any of the item's signatures expires within minutes."""
        if self.kind is None:
            return False
        return any(expires_soon(asset.href) for asset in item.assets.values())


def _resign_planetary_computer(url: str) -> str:
    return str(_planetary_computer(url, fresh=True))


def resigner(signer: Signer) -> Callable[[str], str] | None:
    """A picklable function giving a fresh signed URL for an unsigned one (or ``None``)."""
    if signer.kind == "planetary-computer":
        return _resign_planetary_computer
    return None
