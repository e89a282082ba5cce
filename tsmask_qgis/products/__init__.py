"""Products of a mask: cloud-free composites, masked stacks and index series.

Importing this package imports neither numba nor qgis: the composite kernels are
imported where they run (threads of this process or the engine's worker
processes).
"""

from tsmask_qgis.products._composite import METHODS, composite
from tsmask_qgis.products._inputs import check_mask, find_bands
from tsmask_qgis.products._periods import PERIODS, Period, periods
from tsmask_qgis.products._series import INDICES, index_series, masked
from tsmask_qgis.products._zones import Zone, ZoneRow, read_zones, zonal_means

__all__ = [
    "INDICES",
    "METHODS",
    "PERIODS",
    "Period",
    "Zone",
    "ZoneRow",
    "check_mask",
    "composite",
    "find_bands",
    "index_series",
    "masked",
    "periods",
    "read_zones",
    "zonal_means",
]
