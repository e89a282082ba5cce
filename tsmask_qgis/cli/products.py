"""``tsmask composite`` and ``tsmask series``: products of a stack and its mask on disk,
and the same options for ``tsmask run`` (``--composite year:median``, ``--series ndvi``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tsmask_qgis.cli._args import bad_arguments

__all__ = ["add_product_options", "options_from_args", "register"]

_COMPOSITE_EPILOG = """\
examples:
  tsmask composite --input stack.nc --mask masks/tsmask.nc --period year --method median \\
      --out composites
  tsmask composite --input stack.nc --mask masks/tsmask.nc --period 2017-09-01/2018-02-28 \\
      --method geomedian --max-cloud 60 --out spring

periods: year, month, season (DJF, MAM, JJA, SON), all, or date ranges
START/END[,START/END...]. methods: median and mean per band over the clear dates,
geomedian (geometric median of the clear observations, Roberts et al. 2017), medoid.
Writes composite/composite_<period>.tif (bands, then the clear count; band
descriptions '<band> <period>'), a .qml true-colour style and a .png quicklook beside it.
"""

_SERIES_EPILOG = """\
examples:
  tsmask series --input stack.nc --mask masks/tsmask.nc --index ndvi --out ndvi
  tsmask series --input stack.nc --mask masks/tsmask.nc --index ndvi --zones fields.gpkg --out ndvi
  tsmask series --input stack.nc --mask masks/tsmask.nc --masked --masked-cog --out clean

Writes series/series.nc (the index per date, NaN where not clear), with --zones
series/zonal.csv (per zone and date: the index's mean over clear pixels and the
clear share), with --masked masked/masked.nc (the reflectance with cloud, shadow
and no observation as nodata) and with --masked-cog masked/masked_<date>.tif.
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=Path, required=True, metavar="PATH",
                   help="the reflectance stack: NetCDF or a folder of GeoTIFFs")  # fmt: skip
    p.add_argument("--mask", type=Path, required=True, metavar="PATH",
                   help="its tsmask masks: tsmask.nc, a multi-band GeoTIFF or a folder of COGs")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--workers", type=int, help="threads or processes (default: all cores)")
    p.add_argument("--runner", default="auto", choices=("auto", "threads", "processes"),
                   help="how the composite runs (default auto)")  # fmt: skip
    p.add_argument("--max-memory", metavar="SIZE", help="memory budget, e.g. 4GB")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist already")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``composite`` and ``series`` to the ``tsmask`` parser."""
    from tsmask_qgis.products import INDICES, METHODS

    c = subparsers.add_parser(
        "composite",
        help="cloud-free composites per period from a stack and its masks",
        description="Cloud-free composites per period from the clear pixels of a stack.",
        epilog=_COMPOSITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(c)
    c.add_argument("--period", default="year", help="year, month, season, all or ranges (year)")
    c.add_argument("--method", default="median", choices=METHODS, help="(default median)")
    c.add_argument("--max-cloud", type=float, metavar="PCT",
                   help="also leave out dates with more cloud and shadow than this percentage")  # fmt: skip
    c.set_defaults(func=_composite)
    s = subparsers.add_parser(
        "series",
        help="masked index series (and zonal means) or a masked stack",
        description="An index series masked to clear pixels, its means over zones, or the "
        "reflectance with cloud, shadow and no observation set to nodata.",
        epilog=_SERIES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(s)
    s.add_argument("--index", choices=tuple(INDICES), help="the index series to write")
    s.add_argument("--zones", type=Path, metavar="PATH",
                   help="points or polygons (GeoJSON, GeoPackage) for per-date zonal means")  # fmt: skip
    s.add_argument("--masked", action="store_true", help="also the masked reflectance (NetCDF)")
    s.add_argument("--masked-cog", action="store_true", help="and a masked COG per date")
    s.set_defaults(func=_series)


def add_product_options(p: argparse.ArgumentParser) -> None:
    """The product options of ``tsmask run``."""
    from tsmask_qgis.products import INDICES

    g = p.add_argument_group("products from the masks")
    g.add_argument("--composite", metavar="PERIOD:METHOD",
                   help="cloud-free composites, e.g. year:median, month:geomedian, all:medoid")  # fmt: skip
    g.add_argument("--max-cloud", type=float, metavar="PCT",
                   help="composites leave out dates with more cloud and shadow than this")  # fmt: skip
    g.add_argument("--series", choices=tuple(INDICES), help="a masked index series")
    g.add_argument("--zones", type=Path, metavar="PATH",
                   help="zonal means of the --series index over these points or polygons")  # fmt: skip
    g.add_argument("--masked", action="store_true", help="the masked reflectance (NetCDF)")
    g.add_argument("--masked-cog", action="store_true", help="and a masked COG per date")


def options_from_args(args: argparse.Namespace, *, composite: str | None = None) -> Any:
    """The ``ProductOptions`` of the arguments (``None`` when none is asked for)."""
    from tsmask_qgis.pipeline import ProductOptions

    with bad_arguments():
        opts = ProductOptions(
            composite=composite if composite is not None else getattr(args, "composite", None),
            max_cloud=getattr(args, "max_cloud", None),
            masked=bool(getattr(args, "masked", False)),
            masked_cog=bool(getattr(args, "masked_cog", False)),
            index=getattr(args, "series", None) or getattr(args, "index", None),
            zones=getattr(args, "zones", None),
        )
    return opts if opts.any else None


def _make(args: argparse.Namespace, opts: Any) -> int:
    from tsmask_qgis.cli._progress import TerminalProgress
    from tsmask_qgis.errors import ParameterError
    from tsmask_qgis.pipeline import make_products

    if opts is None:
        raise ParameterError("nothing to make: give --index, --masked or --masked-cog")
    with TerminalProgress(quiet=args.quiet) as bar:
        result = make_products(
            args.input, args.mask, args.out, opts, overwrite=args.overwrite,
            workers=args.workers, runner=args.runner, max_memory=args.max_memory, progress=bar,
        )  # fmt: skip
    for path in result.paths:
        print(path, file=sys.stdout)
    print(f"\n{len(result.paths)} files in {Path(result.out).resolve()}", file=sys.stdout)
    for note in result.notes:
        print(f"note: {note}", file=sys.stdout)
    return 0


def _composite(args: argparse.Namespace) -> int:
    return _make(args, options_from_args(args, composite=f"{args.period}:{args.method}"))


def _series(args: argparse.Namespace) -> int:
    return _make(args, options_from_args(args))
