"""``tsmask run``: masks for an area and dates from a catalogue, or for a local stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tsmask_qgis.cli._args import (
    add_engine,
    add_request,
    bad_arguments,
    make_request,
    parse_length,
    parse_overrides,
)
from tsmask_qgis.cli.products import add_product_options, options_from_args
from tsmask_qgis.errors import ParameterError

__all__ = ["register"]

EXAMPLES = """\
examples:
  tsmask run --bbox 149.055 -35.344 149.155 -35.244 --start 2017-01-01 --end 2018-12-31 \\
      --out canberra
  tsmask run --input stack.nc --preset dea --format netcdf cog qml --out masks
  tsmask run --input tifs/ --set cloud_spike=0.5 --no-spatial --out masks --overwrite
  tsmask run --bbox ... --start ... --end ... --shadow-geometry --cloud-buffer 60m \
      --shadow-buffer 40m --out masks
  tsmask run --bbox ... --start ... --end ... --with-reference scl --truecolour --out checked
  tsmask run --input stack.nc --composite year:median --series ndvi --zones fields.geojson --out m
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run`` to the ``tsmask`` parser."""
    from tsmask_qgis.pipeline import DEFAULT_FORMATS, FORMATS

    p = subparsers.add_parser(
        "run",
        help="detect cloud and shadow and write the masks",
        description="Detect cloud and cloud shadow in a Sentinel-2 time series and write "
        "the masks. Give an area and dates (searched in a catalogue) or --input.",
        epilog=EXAMPLES
        + "\noutput formats:\n"
        + "\n".join(f"  {k:<10} {v}" for k, v in FORMATS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--input",
        type=Path,
        metavar="PATH",
        help="a local stack instead of a catalogue: NetCDF (one variable per band) or a "
        "folder of GeoTIFFs",
    )
    add_request(p, required=False)
    add_engine(p)
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    o.add_argument(
        "--format",
        nargs="+",
        metavar="FORMAT",
        help=f"formats to write, or 'all' (default: {' '.join(DEFAULT_FORMATS)})",
    )
    o.add_argument("--truecolour", action="store_true", help="also a true-colour COG per date")
    o.add_argument(
        "--quicklook",
        nargs="+",
        metavar="DATE",
        help="dates for quicklook PNGs (YYYY-MM-DD, or 'all'; default: a few telling dates); "
        "implies --format quicklook",
    )
    o.add_argument(
        "--with-reference",
        choices=("scl",),
        dest="reference",
        help="also load the catalogue's scene classification and write an evaluation "
        "report (evaluation.md/.json/.html, confusion PNG) beside the outputs",
    )
    o.add_argument("--no-cache", dest="cache", action="store_false", help="bypass the cache")
    add_product_options(p)
    o.add_argument("--overwrite", action="store_true", help="replace outputs that exist already")
    p.set_defaults(func=_run)


def formats_of(values: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """``--format`` values (space or comma separated, 'all') as a tuple of names."""
    from tsmask_qgis.pipeline import FORMATS

    if not values:
        return default
    names = [v.strip().lower() for item in values for v in item.split(",") if v.strip()]
    if "all" in names:
        return tuple(FORMATS)
    return tuple(names)


def job_from_args(args: argparse.Namespace) -> object:
    """The pipeline ``Job`` the arguments describe (``ParameterError`` for bad arguments)."""
    from tsmask_qgis.pipeline import DEFAULT_FORMATS, Job

    have_request = any(getattr(args, k) is not None for k in ("bbox", "start", "end"))
    if args.input is not None and have_request:
        raise ParameterError("give either --input or --bbox/--start/--end, not both")
    if args.input is None:
        missing = [f"--{k}" for k in ("bbox", "start", "end") if getattr(args, k) is None]
        if missing:
            raise ParameterError(f"missing {', '.join(missing)} (or give --input PATH)")
    formats = formats_of(args.format, DEFAULT_FORMATS)
    if args.quicklook and "quicklook" not in formats:
        formats = (*formats, "quicklook")
    overrides = parse_overrides(args.set)
    if args.thin_cloud is not None:
        if args.preset != "seed":
            raise ParameterError(
                f"--thin-cloud is an option of the seed preset ({args.preset} has no "
                "thin-cloud rule); add --preset seed",
                field="overrides",
            )
        overrides["thin_cloud"] = args.thin_cloud

    def pixel_m() -> float:
        return pixel_size(args)

    cloud_m = parse_length(args.cloud_buffer, "--cloud-buffer", pixel_m)
    shadow_m = parse_length(args.shadow_buffer, "--shadow-buffer", pixel_m)
    return Job(
        out=args.out,
        request=make_request(args) if args.input is None else None,
        input=args.input,
        preset=args.preset,
        overrides=tuple(overrides.items()),
        spatial=args.spatial,
        formats=formats,
        truecolour=args.truecolour,
        quicklook_dates=tuple(args.quicklook) if args.quicklook else None,
        workers=args.workers,
        runner=args.runner,
        max_memory=args.max_memory,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        reference=args.reference,
        cache=args.cache,
        concurrency=args.concurrency,
        shadow_geometry=args.shadow_geometry,
        cloud_buffer_m=cloud_m,
        shadow_buffer_m=shadow_m,
        products=options_from_args(args),
    )


def pixel_size(args: argparse.Namespace) -> float:
    """The pixel size in metres a distance in pixels is counted in: ``--resolution``,
    or the local stack's own grid."""
    if args.input is None:
        return float(args.resolution)
    from tsmask_qgis import loaders

    ds = loaders.load_local(args.input)
    if ds.sizes["x"] < 2:
        raise ParameterError(
            f"{args.input} is one pixel wide: give buffers in metres (e.g. 60m)",
            field="cloud_buffer_m",
        )
    return abs(float(ds["x"].values[1] - ds["x"].values[0]))


def build_job(args: argparse.Namespace) -> object:
    """``job_from_args`` with argument errors turned into usage errors."""
    with bad_arguments():
        return job_from_args(args)


def execute(job: object, args: argparse.Namespace, *, title: str | None = None) -> int:
    """Run ``job`` with a progress bar; print where the outputs are and a per-date table."""
    from tsmask_qgis.cli._progress import TerminalProgress
    from tsmask_qgis.pipeline import run
    from tsmask_qgis.writers import format_table

    with TerminalProgress(quiet=args.quiet) as bar:
        result = run(job, progress=bar)  # type: ignore[arg-type]
    out = sys.stdout
    if title:
        print(title, file=out)
    print(format_table(result.summary), file=out)
    reused = f" ({len(result.reused)} complete from an earlier run)" if result.reused else ""
    print(f"\n{len(result.paths)} files in {result.out.resolve()}{reused}", file=out)
    for note in result.notes:
        print(f"note: {note}", file=out)
    if result.evaluation is not None:
        print(f"evaluation against SCL: {result.evaluation}", file=out)
    return 0


def _run(args: argparse.Namespace) -> int:
    return execute(build_job(args), args)
