"""ENVI output as the seed notebook wrote it: one band per date, band names = dates."""

from __future__ import annotations

import os
import re
from pathlib import Path

import rasterio
import xarray as xr

from tsmask_qgis.classes import CLASSES
from tsmask_qgis.progress import Progress
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import (
    as_mask,
    mask_profile,
    report_date,
    software,
    write_date_bands,
)
from tsmask_qgis.writers._grid import date_labels, grid_of

__all__ = ["write_envi"]


def write_envi(
    mask: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Path:
    """ENVI raster (BSQ uint8 data file ``path`` plus ``.hdr``): one band per date.

    The header's ``band names`` are the dates (as the notebook wrote them) and
    it adds ``class names``/``class lookup`` from ``tsmask_qgis.classes`` and
    ``data ignore value = 0``. Returns the data file's path (``.img`` is usual).
    """
    mask = as_mask(mask)
    grid = grid_of(mask)
    labels = date_labels(mask.time)
    path = Path(path)
    n = len(labels)
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        atomic_output(
            path, overwrite=overwrite, sidecars=(".hdr",), needed=n * grid.height * grid.width
        ) as tmp,
    ):
        with rasterio.open(
            tmp, "w", driver="ENVI", interleave="bsq", **mask_profile(grid, n)
        ) as ds:
            write_date_bands(ds, mask, labels, progress, "ENVI band")
        hdr = tmp.with_suffix(".hdr")
        text = hdr.read_text()
        names = ", ".join(c.label for c in CLASSES)
        lookup = ", ".join(",".join(str(v) for v in c.rgba[:3]) for c in CLASSES)
        description = (
            f"description = {{tsmask cloud and cloud shadow mask, {software()}; classes: "
            + ", ".join(f"{c.value} {c.name}" for c in CLASSES)
            + "}"
        )
        # GDAL writes the (temporary) file name as the description: replace it.
        text = re.sub(r"description = \{[^}]*\}", lambda _m: description, text, count=1)
        text += f"class names = {{{names}}}\nclass lookup = {{{lookup}}}\n"
        hdr.write_text(text)
    report_date(progress, n, n, "ENVI")
    return path
