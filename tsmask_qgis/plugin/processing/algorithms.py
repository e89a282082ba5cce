"""The ``tsmask`` Processing algorithms (the provider's list).

No data work runs in the QGIS process: every algorithm hands plain values to a
job run in a warm child Python process (:mod:`tsmask_qgis.jobs.client`; the jobs
in :mod:`tsmask_qgis.jobs.table`) — detection is :func:`tsmask_qgis.pipeline.run`
there, the mask tools the engine's spatial functions, both with the runner of
the advanced *Runner* parameter (automatic by default) — and gets plain values
back (paths, rows, numbers); QGIS loads the outputs itself. Shared parts:
:mod:`.common`; the algorithms: :mod:`.detect`, :mod:`.masktools`.
"""

from __future__ import annotations

from tsmask_qgis.plugin.processing.common import TsmaskAlgorithm, pipeline_feedback
from tsmask_qgis.plugin.processing.detect import DetectLocalAlgorithm, DetectStacAlgorithm
from tsmask_qgis.plugin.processing.masktools import (
    BufferAlgorithm,
    CompareMasksAlgorithm,
    MajorityFilterAlgorithm,
    SeedFilterAlgorithm,
    SummaryAlgorithm,
)
from tsmask_qgis.plugin.processing.products import CompositeAlgorithm, IndexSeriesAlgorithm

__all__ = [
    "ALGORITHMS",
    "BufferAlgorithm",
    "CompareMasksAlgorithm",
    "CompositeAlgorithm",
    "DetectLocalAlgorithm",
    "DetectStacAlgorithm",
    "IndexSeriesAlgorithm",
    "MajorityFilterAlgorithm",
    "SeedFilterAlgorithm",
    "SummaryAlgorithm",
    "TsmaskAlgorithm",
    "pipeline_feedback",
]

ALGORITHMS: tuple[type[TsmaskAlgorithm], ...] = (
    DetectStacAlgorithm,
    DetectLocalAlgorithm,
    SeedFilterAlgorithm,
    BufferAlgorithm,
    MajorityFilterAlgorithm,
    SummaryAlgorithm,
    CompareMasksAlgorithm,
    CompositeAlgorithm,
    IndexSeriesAlgorithm,
)
