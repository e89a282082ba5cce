"""The tsmask engine: exact, fast cloud and cloud-shadow detection (algorithm.md).

Importing this package never imports ``qgis``.
"""

from tsmask_qgis.engine._presets import (
    DEA,
    SEED,
    DeaPreset,
    Preset,
    SeedPreset,
    get_preset,
    preset_names,
)

__all__ = ["DEA", "SEED", "DeaPreset", "Preset", "SeedPreset", "get_preset", "preset_names"]
