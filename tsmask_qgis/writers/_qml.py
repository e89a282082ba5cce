"""A QGIS ``.qml`` style for the masks: a paletted raster renderer built from the classes."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET  # nosec B405: only builds and writes XML, never parses any
from pathlib import Path

from tsmask_qgis.classes import CLASSES, style
from tsmask_qgis.writers._atomic import atomic_output

__all__ = ["qml_text", "write_qml"]


def qml_text(*, band: int = 1, opacity: float = 1.0, style_name: str | None = None) -> str:
    """The QML document (QGIS's XML layer style) of a paletted renderer on ``band``.

    One palette entry per class with its colour, opacity and label, in the
    mask style ``style_name`` (:data:`tsmask_qgis.classes.STYLES`; the default
    ``check`` style draws clear and no observation transparent). Resampling is
    nearest neighbour, so classes are never blended when zooming out.
    """
    look = style(style_name)
    root = ET.Element(
        "qgis",
        {
            "version": "3.22.0",
            "styleCategories": "Symbology",
            "hasScaleBasedVisibilityFlag": "0",
            "minScale": "1e+08",
            "maxScale": "0",
        },
    )
    pipe = ET.SubElement(root, "pipe")
    provider = ET.SubElement(pipe, "provider")
    ET.SubElement(
        provider,
        "resampling",
        {
            "enabled": "false",
            "zoomedInResamplingMethod": "nearestNeighbour",
            "zoomedOutResamplingMethod": "nearestNeighbour",
            "maxOversampling": "2",
        },
    )
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        {
            "type": "paletted",
            "band": str(band),
            "opacity": f"{opacity:g}",
            "alphaBand": "-1",
            "nodataColor": "",
        },
    )
    ET.SubElement(renderer, "rasterTransparency")
    mmo = ET.SubElement(renderer, "minMaxOrigin")
    for tag, text in (
        ("limits", "None"),
        ("extent", "WholeRaster"),
        ("statAccuracy", "Estimated"),
        ("cumulativeCutLower", "0.02"),
        ("cumulativeCutUpper", "0.98"),
        ("stdDevFactor", "2"),
    ):
        ET.SubElement(mmo, tag).text = text
    palette = ET.SubElement(renderer, "colorPalette")
    for c in CLASSES:
        alpha = look.rgba(c.value)[3]
        ET.SubElement(
            palette,
            "paletteEntry",
            {
                "value": str(c.value),
                "color": look.hex(c.value),
                "alpha": str(alpha),
                "label": c.label,
            },
        )
    ET.SubElement(pipe, "brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"})
    ET.SubElement(
        pipe,
        "huesaturation",
        {
            "saturation": "0",
            "grayscaleMode": "0",
            "colorizeOn": "0",
            "colorizeRed": "255",
            "colorizeGreen": "128",
            "colorizeBlue": "128",
            "colorizeStrength": "100",
        },
    )
    ET.SubElement(pipe, "rasterresampler", {"maxOversampling": "2"})
    ET.SubElement(pipe, "resamplingStage").text = "resamplingFilter"
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def write_qml(
    path: str | os.PathLike[str],
    *,
    band: int = 1,
    overwrite: bool = False,
    style_name: str | None = None,
) -> Path:
    """Write the paletted style (``style_name``, the default ``check`` style if ``None``) to ``path``.

    Name it like a raster with ``.qml`` instead of ``.tif`` (``mask.qml`` beside
    ``mask.tif``) and QGIS applies it when the raster is added.
    """
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(qml_text(band=band, style_name=style_name), encoding="utf-8")
    return path
