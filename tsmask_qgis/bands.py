"""The six reflectance bands tsmask reads, and the names they go by elsewhere.

Standard library only: the engine, the loaders, the writers and the plugin all
read this one table (algorithm.md's band table).
"""

from __future__ import annotations

import re

__all__ = ["BANDS", "BAND_ALIASES", "BROAD_NIR", "VALUES_CHECKED", "band_name", "normalise"]

#: A Dataset attribute set by the loaders that made or checked its values: the engine
#: need not sample them again for the data convention.
VALUES_CHECKED = "tsmask_values_checked"

#: The six bands, in the order the kernels take them.
BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir1", "swir2")

#: Names the same band goes by in catalogues, files and other tools, in the
#: :func:`normalise`-d form (lower case, no spaces, ``_``, ``-`` or ``.``).
BAND_ALIASES: dict[str, tuple[str, ...]] = {
    "blue": ("blue", "b02", "b2", "band2", "nbartblue", "nbarblue"),
    "green": ("green", "b03", "b3", "band3", "nbartgreen", "nbargreen"),
    "red": ("red", "b04", "b4", "band4", "nbartred", "nbarred"),
    "nir": (
        "nir",
        "b8a",
        "band8a",
        "nir08",
        "nir2",
        "nbartnir2",
        "nbarnir2",
        "nirnarrow",
        "narrownir",
    ),
    "swir1": ("swir1", "b11", "band11", "swir16", "nbartswir2", "nbarswir2"),
    "swir2": ("swir2", "b12", "band12", "swir22", "nbartswir3", "nbarswir3"),
}

#: The 10 m broad NIR (B08) names: not the band tsmask uses (B8A, 20 m), so a
#: variable with one of them is never taken as ``nir`` silently.
BROAD_NIR: tuple[str, ...] = ("b08", "b8", "band8", "nbartnir1", "nbarnir1", "nir1")

_ALIAS_TO_BAND = {alias: band for band, aliases in BAND_ALIASES.items() for alias in aliases}


def normalise(name: str) -> str:
    """``"NBART_Swir-2"`` -> ``"nbartswir2"``: the form :data:`BAND_ALIASES` uses."""
    return re.sub(r"[\s_\-\.]", "", name.strip().lower())


def band_name(name: str) -> str | None:
    """The tsmask band a variable, description or file name stands for, or ``None``.

    DEA's ``nbart_swir_2`` is B11 (``swir1``) while tsmask's own ``swir2`` is
    B12: the table holds each name once, so no name is ambiguous.
    """
    return _ALIAS_TO_BAND.get(normalise(name))
