"""The four tsmask classes: the one place that defines value, name, label and colour.

Writers (GeoTIFF tags, NetCDF ``flag_values``/``flag_meanings``, QML), the
plugin's styling, the command-line legend and the tests all read this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLASSES",
    "CLEAR",
    "CLOUD",
    "NODATA",
    "NO_OBSERVATION",
    "SHADOW",
    "MaskClass",
    "by_value",
    "flag_attrs",
]


@dataclass(frozen=True)
class MaskClass:
    """One class of the mask.

    ``name`` is a machine name (used in CF ``flag_meanings`` and in tables),
    ``label`` the human legend text, ``color`` an ``#RRGGBB`` hex string and
    ``alpha`` its opacity (0..255): "no observation" is drawn transparent.
    """

    value: int
    name: str
    label: str
    color: str
    alpha: int = 255

    @property
    def rgba(self) -> tuple[int, int, int, int]:
        """The colour as an (r, g, b, a) tuple of 0..255 integers."""
        c = self.color.lstrip("#")
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), self.alpha


NO_OBSERVATION = MaskClass(0, "no_observation", "No observation", "#000000", 0)
CLEAR = MaskClass(1, "clear", "Clear", "#2ca25f")
CLOUD = MaskClass(2, "cloud", "Cloud", "#f0f0f0")
SHADOW = MaskClass(3, "cloud_shadow", "Cloud shadow", "#6a3d9a")

#: All classes in value order.
CLASSES: tuple[MaskClass, ...] = (NO_OBSERVATION, CLEAR, CLOUD, SHADOW)

#: The value written where there is no observation; also the raster nodata value.
NODATA: int = NO_OBSERVATION.value


def by_value(value: int) -> MaskClass:
    """The class with this value; ``ValueError`` for anything else."""
    for cls in CLASSES:
        if cls.value == value:
            return cls
    raise ValueError(f"{value!r} is not a tsmask class value (expected one of 0, 1, 2, 3)")


def flag_attrs() -> dict[str, object]:
    """CF attributes describing the classes (``flag_values``, ``flag_meanings``, ...)."""
    return {
        "flag_values": [c.value for c in CLASSES],
        "flag_meanings": " ".join(c.name for c in CLASSES),
        "flag_colors": " ".join(c.color for c in CLASSES),
        "long_name": "tsmask cloud and cloud shadow classification",
        "nodata": NODATA,
    }
