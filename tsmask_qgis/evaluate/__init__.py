"""Checking masks: synthetic scenes with known truth, and comparison with reference masks.

Importing this package never imports ``numba`` or ``qgis``.
"""

from tsmask_qgis.evaluate.synthetic import BANDS, COVER_NAMES, SPECTRA, Scene, make_scene

__all__ = ["BANDS", "COVER_NAMES", "SPECTRA", "Scene", "make_scene"]
