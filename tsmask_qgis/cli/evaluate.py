"""``tsmask evaluate``: compare a mask with a reference mask and write the report.

    tsmask evaluate --mask out/tsmask.nc --reference scl/ --reference-kind scl --out report/

prints the summary and writes ``evaluation.md``, ``evaluation.json``,
``evaluation.html`` and ``evaluation_confusion.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

_HELP = "compare a mask with a reference mask (confusion matrix, accuracy, F1; per date)"

_EPILOG = """\
reference kinds:
  tsmask  four classes like ours: 0 no observation, 1 clear, 2 cloud, 3 shadow
  scl     Sentinel-2 L2A scene classification: 3 shadow; 8, 9, 10 cloud;
          2, 4, 5, 6, 7, 11 clear; 0, 1 no observation
  fmask   DEA oa_fmask: 2 cloud, 3 shadow, 1, 4, 5 clear, 0 no data

inputs: a NetCDF file, a multi-band raster (one band per date, dates in the band
descriptions or DATE tags) or a folder of single-date GeoTIFFs (dates in the tags
or the file/folder names). Dates are matched; pixel-dates where either side has
no observation are left out and counted.
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "evaluate",
        help=_HELP,
        description=_HELP[0].upper() + _HELP[1:] + ".",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--mask", required=True, metavar="PATH", help="the mask to assess")
    p.add_argument("--reference", required=True, metavar="PATH", help="the reference mask")
    p.add_argument(
        "--reference-kind",
        default="tsmask",
        choices=("tsmask", "scl", "fmask"),
        help="classes of the reference (default: tsmask)",
    )
    p.add_argument(
        "--mask-kind",
        default="tsmask",
        choices=("tsmask", "scl", "fmask"),
        help="classes of the mask (default: tsmask)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="folder for the report files (default: print the summary only)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace report files that exist already"
    )
    p.add_argument(
        "--name", default="evaluation", help="file name stem of the report (default: evaluation)"
    )
    p.add_argument("--variable", default=None, help="NetCDF variable of the mask")
    p.add_argument("--reference-variable", default=None, help="NetCDF variable of the reference")
    p.add_argument(
        "--resample",
        action="store_true",
        help="resample the reference onto the mask's grid (mode) when the grids differ",
    )
    p.add_argument("--per-date", action="store_true", help="also print the per-date table")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``tsmask evaluate``; returns 0.

    Bad inputs raise ``ValueError``/``FileNotFoundError`` and output problems
    ``OutputError``: ``tsmask``'s main turns them into one line and its exit codes.
    """
    from tsmask_qgis.evaluate import compare, write_report
    from tsmask_qgis.evaluate.io import load_mask, match_grid

    mask = load_mask(args.mask, kind=args.mask_kind, variable=args.variable)
    ref = load_mask(args.reference, kind=args.reference_kind, variable=args.reference_variable)
    if args.resample and not _same_grid(mask, ref):
        ref = match_grid(ref, mask)
    ev = compare(
        mask,
        ref,
        reference_kind=args.reference_kind,
        mask_kind=args.mask_kind,
        mask_name=Path(args.mask).name,
        reference_name=Path(args.reference).name,
    )
    if args.out:
        # Check the folder and existing files before writing anything.
        from tsmask_qgis.writers import check_overwrite, ensure_writable_dir

        out = ensure_writable_dir(args.out)
        stem = args.name
        targets = [out / f"{stem}.{ext}" for ext in ("md", "json", "html")]
        check_overwrite([*targets, out / f"{stem}_confusion.png"], overwrite=args.overwrite)
    print(ev.to_markdown(per_date=args.per_date).rstrip())
    if args.out:
        paths = write_report(ev, out, stem=args.name)
        print()
        for path in paths.values():
            print(f"wrote {path}")
    return 0


def _same_grid(a: Any, b: Any) -> bool:
    """Same size and pixel-centre coordinates (CRS differences are caught by compare)."""
    import numpy as np

    if a.shape[-2:] != b.shape[-2:]:
        return False
    for dim in ("x", "y"):
        if dim not in a.coords or dim not in b.coords:
            return True
        if a[dim].size != b[dim].size or not np.allclose(a[dim].values, b[dim].values):
            return False
    return True
