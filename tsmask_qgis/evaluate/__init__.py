"""Checking masks: synthetic scenes with known truth, and comparison with reference masks.

Importing this package never imports ``numba`` or ``qgis``.
"""

from tsmask_qgis.evaluate.io import load_mask, match_grid
from tsmask_qgis.evaluate.metrics import (
    CLASS_NAMES,
    REFERENCE_KINDS,
    DateEvaluation,
    Evaluation,
    compare,
    to_classes,
)
from tsmask_qgis.evaluate.report import (
    confusion_png,
    to_html,
    to_json,
    to_markdown,
    write_report,
)
from tsmask_qgis.evaluate.synthetic import BANDS, COVER_NAMES, SPECTRA, Scene, make_scene

__all__ = [
    "BANDS",
    "CLASS_NAMES",
    "COVER_NAMES",
    "REFERENCE_KINDS",
    "SPECTRA",
    "DateEvaluation",
    "Evaluation",
    "Scene",
    "compare",
    "confusion_png",
    "load_mask",
    "make_scene",
    "match_grid",
    "to_classes",
    "to_html",
    "to_json",
    "to_markdown",
    "write_report",
]
