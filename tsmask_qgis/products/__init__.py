"""Products of a mask: cloud-free composites, masked stacks and index series.

Importing this package imports neither numba nor qgis: the composite kernels are
imported where they run (threads of this process or the engine's worker
processes).
"""

from tsmask_qgis.products._composite import METHODS, composite
from tsmask_qgis.products._inputs import check_mask, find_bands
from tsmask_qgis.products._periods import PERIODS, Period, periods

__all__ = ["METHODS", "PERIODS", "Period", "check_mask", "composite", "find_bands", "periods"]
