"""One job from inputs to files: load -> classify -> write.

``run(job)`` is what the QGIS task and the ``tsmask`` command both call. It
reports progress as :class:`tsmask_qgis.progress.Report` values for the steps of
its plan (``search``, ``load`` or ``read``, ``detect``, ``spatial``, ``write``),
every report being a cancel point, writes every output atomically through the
writers' registry of formats (:data:`tsmask_qgis.writers.FORMATS`), and records what
it wrote in a manifest (``tsmask-manifest.json``) so that re-running the same job
after an interruption reuses the outputs that were complete. The
:class:`JobResult` lists the files keyed by format and date.

The parts: :mod:`._job` (the job), :mod:`._load` (the loading step), :mod:`._detect`
(the detection step), :mod:`._write` (the write step), :mod:`._result` (the result),
:mod:`._run` (the run). Importing this package imports neither numba nor qgis.
"""

from tsmask_qgis.errors import NoDataError, UnreachableError
from tsmask_qgis.pipeline._detect import SCHEDULER_TIMEOUT
from tsmask_qgis.pipeline._job import DEFAULT_FORMATS, FORMATS, REFERENCE_KINDS, Job, parse_size
from tsmask_qgis.pipeline._load import no_data_for, stream_chunks
from tsmask_qgis.pipeline._products import (
    ProductOptions,
    make_products,
    parse_composite,
    product_formats,
)
from tsmask_qgis.pipeline._result import JobResult
from tsmask_qgis.pipeline._run import run
from tsmask_qgis.pipeline._write import job_files, output_layout
from tsmask_qgis.writers import OutputFile

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "REFERENCE_KINDS",
    "SCHEDULER_TIMEOUT",
    "Job",
    "JobResult",
    "NoDataError",
    "OutputFile",
    "ProductOptions",
    "UnreachableError",
    "job_files",
    "make_products",
    "no_data_for",
    "output_layout",
    "parse_composite",
    "parse_size",
    "product_formats",
    "run",
    "stream_chunks",
]
