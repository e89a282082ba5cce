"""``tsmask demo``: the whole pipeline, offline, on the bundled real sample."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

__all__ = ["register", "sample_path"]

CREDITS = (
    "Sample: Wright, ACT, 30 Sentinel-2A dates, 100 x 100 pixels. Imagery: Copernicus "
    "Sentinel data via Digital Earth Australia (CC BY 4.0); stack from daleroberts/"
    "s2cloudmask (Apache-2.0). Dates (except 2016-01-01) and georeference are approximate."
)


def sample_path() -> Path:
    """The bundled sample NetCDF (see tsmask_qgis/data/README.md)."""
    return Path(str(resources.files("tsmask_qgis") / "data" / "wright_act.nc"))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "demo",
        help="run everything offline on a bundled real sample",
        description="Detect cloud and shadow on a small real Sentinel-2 stack shipped with "
        "tsmask (Wright, ACT) and write every output format, true colour, quicklooks and "
        "the chart to a folder. No network needed.\n\n" + CREDITS,
        epilog="example:\n  tsmask demo --out tsmask-demo --overwrite",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("tsmask-demo"), help="(default tsmask-demo)")
    p.add_argument("--preset", default="seed", choices=("seed", "dea"), help="(default seed)")
    p.add_argument("--workers", type=int, help="threads (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's outputs")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from tsmask_qgis.cli.run import execute
    from tsmask_qgis.pipeline import FORMATS, Job

    job = Job(
        out=args.out,
        input=sample_path(),
        preset=args.preset,
        formats=tuple(FORMATS),
        truecolour=True,
        workers=args.workers,
        overwrite=args.overwrite,
        meta={
            "credits": CREDITS,
            "comment": "demo on the bundled sample: dates except 2016-01-01 and the "
            "georeference are approximate",
        },
    )
    print(f"tsmask demo: writing to {Path(args.out).resolve()}")
    return execute(job, args, title=CREDITS + "\n")
