"""The four tsmask classes: the one place that defines value, name, label and colour.

Writers (GeoTIFF tags, NetCDF ``flag_values``/``flag_meanings``, QML), the
plugin's styling, the command-line legend and the tests all read this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CHART_COLOURS",
    "CLASSES",
    "CLEAR",
    "CLOUD",
    "DEFAULT_STYLE",
    "NODATA",
    "NO_OBSERVATION",
    "SHADOW",
    "STYLES",
    "MaskClass",
    "MaskStyle",
    "by_value",
    "flag_attrs",
    "style",
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


@dataclass(frozen=True)
class MaskStyle:
    """How a viewer draws the classes: an (r, g, b, a) colour per class value.

    ``opacity_over_image`` is the layer opacity to use when the mask is drawn
    over a true-colour image (the per-class alpha already makes the
    ``check`` style see-through, so it is drawn fully opaque).
    """

    name: str
    title: str
    colours: tuple[tuple[int, int, int, int], ...]
    opacity_over_image: float = 1.0

    def rgba(self, value: int) -> tuple[int, int, int, int]:
        """The colour of class ``value``."""
        return self.colours[by_value(value).value]

    def hex(self, value: int) -> str:
        """The colour of class ``value`` as ``#RRGGBB`` (without its alpha)."""
        r, g, b, _ = self.rgba(value)
        return f"#{r:02x}{g:02x}{b:02x}"


def _rgba(colour: str, alpha: int) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), alpha


#: The styles a user can choose in QGIS. ``check`` (the default) is for checking
#: masks against the image: clear and no observation transparent, cloud a
#: saturated cyan that stands out over white cloud and a white canvas, shadow
#: purple. ``filled`` is the palette of the per-date COG's colour table (every
#: observed pixel coloured, clear in green), drawn at 60 % over true colour.
STYLES: dict[str, MaskStyle] = {
    "check": MaskStyle(
        "check",
        "check (clear transparent, cloud cyan)",
        (
            _rgba("#000000", 0),
            _rgba(CLEAR.color, 0),
            _rgba("#00e5ff", 175),
            _rgba("#b000ff", 175),
        ),
    ),
    "filled": MaskStyle(
        "filled",
        "filled (every class coloured)",
        tuple(c.rgba for c in CLASSES),
        opacity_over_image=0.6,
    ),
}

#: Colours of the cloud and shadow series in charts (darker than the map's, to read on white).
CHART_COLOURS: dict[str, str] = {"cloud": "#0086b3", "shadow": "#8a2be2", "hidden": "#b0b0b0"}

#: The style the plugin, the ``.qml`` sidecars and the quicklooks use unless told otherwise.
DEFAULT_STYLE = "check"


def style(name: str | None = None) -> MaskStyle:
    """The style called ``name`` (the default style for ``None``); ``ValueError`` if unknown."""
    key = DEFAULT_STYLE if name is None else name
    try:
        return STYLES[key]
    except KeyError:
        raise ValueError(f"unknown mask style {name!r}: use one of {', '.join(STYLES)}") from None


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
