"""Writers: the mask and its companions in the formats people open.

:data:`FORMATS` is the registry of output formats: each :class:`Format` names the
files it writes for a job's dates and writes them from one :class:`WriteContext`.
Every writer writes atomically (a temporary name in the target folder, renamed
when complete), refuses to replace an existing file unless ``overwrite=True``
and reads class values, names and colours from :mod:`tsmask_qgis.classes`.
:func:`read_mask_raster` and :func:`write_mask_raster` carry a class raster file
to and from memory for the mask tools. Importing this package does not import
numba or qgis.
"""

from tsmask_qgis.writers._atomic import (
    MANIFEST_NAME,
    Manifest,
    OutputError,
    OutputExistsError,
    OutputNotWritableError,
    atomic_output,
    check_overwrite,
    clean_temporaries,
    ensure_writable_dir,
)
from tsmask_qgis.writers._envi import write_envi
from tsmask_qgis.writers._formats import (
    FORMATS,
    PRODUCT_FORMATS,
    Format,
    OutputFile,
    WriteContext,
    get_format,
)
from tsmask_qgis.writers._grid import Grid, date_labels, grid_of
from tsmask_qgis.writers._lock import LOCK_NAME, clean_dead_temporaries, folder_lock
from tsmask_qgis.writers._netcdf import read_netcdf_mask, write_netcdf
from tsmask_qgis.writers._pictures import pick_dates, pick_reasons, write_chart, write_quicklook
from tsmask_qgis.writers._products import (
    composite_qml_text,
    write_composite_cog,
    write_composite_qml,
    write_composite_quicklook,
    write_masked_cogs,
    write_product_netcdf,
    write_zonal_csv,
)
from tsmask_qgis.writers._qml import qml_text, write_qml
from tsmask_qgis.writers._raster import (
    clear_count,
    reflectance,
    truecolour_rgba,
    write_clear_count,
    write_cogs,
    write_multiband,
    write_truecolour,
)
from tsmask_qgis.writers._stack import MaskRaster, read_mask_raster, write_mask_raster
from tsmask_qgis.writers._summary import DateSummary, format_table, summarise, write_summary

__all__ = [
    "FORMATS",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "PRODUCT_FORMATS",
    "DateSummary",
    "Format",
    "Grid",
    "Manifest",
    "MaskRaster",
    "OutputError",
    "OutputExistsError",
    "OutputFile",
    "OutputNotWritableError",
    "WriteContext",
    "atomic_output",
    "check_overwrite",
    "clean_dead_temporaries",
    "clean_temporaries",
    "clear_count",
    "composite_qml_text",
    "date_labels",
    "ensure_writable_dir",
    "folder_lock",
    "format_table",
    "get_format",
    "grid_of",
    "pick_dates",
    "pick_reasons",
    "qml_text",
    "read_mask_raster",
    "read_netcdf_mask",
    "reflectance",
    "summarise",
    "truecolour_rgba",
    "write_chart",
    "write_clear_count",
    "write_cogs",
    "write_composite_cog",
    "write_composite_qml",
    "write_composite_quicklook",
    "write_envi",
    "write_mask_raster",
    "write_masked_cogs",
    "write_multiband",
    "write_netcdf",
    "write_product_netcdf",
    "write_qml",
    "write_quicklook",
    "write_summary",
    "write_truecolour",
    "write_zonal_csv",
]
