"""The tsmask engine: exact, fast cloud and cloud-shadow detection (algorithm.md).

Importing this package never imports ``qgis`` or ``numba``: the kernels are
imported where they run (threads of this process, worker processes, dask tasks).
"""

from tsmask_qgis.engine._api import (
    RUNNERS,
    buffer,
    choose_runner,
    classify,
    detect,
    majority_filter,
    numba_allowed,
    prestart_workers,
    shutdown_workers,
    spatial_filter,
)
from tsmask_qgis.engine._presets import (
    DEA,
    SEED,
    DeaPreset,
    Preset,
    SeedPreset,
    get_preset,
    preset_names,
)
from tsmask_qgis.engine._procpool import WorkerError, python_executable
from tsmask_qgis.engine._tiling import parse_memory
from tsmask_qgis.engine._validate import BAND_ALIASES, BANDS, InputError

__all__ = [
    "BANDS",
    "BAND_ALIASES",
    "DEA",
    "RUNNERS",
    "SEED",
    "DeaPreset",
    "InputError",
    "Preset",
    "SeedPreset",
    "WorkerError",
    "buffer",
    "choose_runner",
    "classify",
    "detect",
    "get_preset",
    "majority_filter",
    "numba_allowed",
    "parse_memory",
    "preset_names",
    "prestart_workers",
    "python_executable",
    "shutdown_workers",
    "spatial_filter",
]
