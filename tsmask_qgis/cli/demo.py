"""``tsmask demo``: the whole pipeline, offline, on the bundled real sample."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

__all__ = ["closing_note", "default_out", "register", "sample_path"]

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
    from tsmask_qgis.engine import preset_names

    p = subparsers.add_parser(
        "demo",
        help="run everything offline on a bundled real sample",
        description="Detect cloud and shadow on a small real Sentinel-2 stack shipped with "
        "tsmask (Wright, ACT) and write every output format, true colour, quicklooks and "
        "the chart to a folder. No network needed.\n\n" + CREDITS,
        epilog="example:\n  tsmask demo --out tsmask-demo --overwrite",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default tsmask-demo, or tsmask-demo-<preset> for another preset)",
    )
    p.add_argument(
        "--preset",
        default="dea",
        choices=preset_names(),
        help="method preset (default dea); try --preset seed (the notebook's method) to compare",
    )
    p.add_argument("--workers", type=int, help="threads (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's outputs")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from tsmask_qgis.cli.run import execute
    from tsmask_qgis.pipeline import FORMATS, Job

    out = args.out if args.out is not None else default_out(args.preset)
    job = Job(
        out=out,
        input=sample_path(),
        preset=args.preset,
        formats=tuple(FORMATS),
        truecolour=True,
        workers=args.workers,
        overwrite=args.overwrite,
        meta=(
            (
                "comment",
                "demo on the bundled sample: dates except 2016-01-01 and the "
                "georeference are approximate",
            ),
            ("credits", CREDITS),
        ),
    )
    print(f"tsmask demo: preset {args.preset}, writing to {Path(out).resolve()}")
    code = execute(job, args, title=CREDITS + "\n")
    print(closing_note(args.preset))
    return code


def default_out(preset: str) -> Path:
    """The demo's folder when ``--out`` is not given (one per preset, so they sit side by side)."""
    return Path("tsmask-demo" if preset == "dea" else f"tsmask-demo-{preset}")


def closing_note(preset: str) -> str:
    """The demo's last lines: where the accuracy study is, and what to compare with."""
    if preset == "seed":
        return (
            "\nNote: on this sample red is below blue on most clear dates, so seed's "
            "thin-cloud rule flags much of the clear-looking imagery as cloud; see "
            "docs/accuracy.md, and compare with `tsmask demo --preset dea`."
        )
    return (
        "\nSee docs/accuracy.md for both presets on this sample and on synthetic scenes "
        "with known truth; compare with `tsmask demo --preset seed`."
    )
