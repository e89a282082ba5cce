"""``tsmask estimate``: what a request would read, before anything is downloaded."""

from __future__ import annotations

import argparse

from tsmask_qgis.cli._args import add_request, make_network, make_request

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``estimate`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "estimate",
        help="items, dates, pixels, bytes and time a request would need",
        description="Search the catalogue and estimate the data to read, the memory and "
        "the time, without downloading pixels. Exits 4 when the catalogue has nothing "
        "for the request.",
        epilog="example:\n  tsmask estimate --bbox 149.055 -35.344 149.155 -35.244 "
        "--start 2017-01-01 --end 2018-12-31",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_request(p, required=True)
    p.add_argument(
        "--with-reference",
        choices=("scl",),
        dest="reference",
        help="count the scene classification too (as `tsmask run --with-reference scl`)",
    )
    p.set_defaults(func=_estimate)


def _estimate(args: argparse.Namespace) -> int:
    from tsmask_qgis import loaders
    from tsmask_qgis.pipeline import no_data_for

    request = make_request(args)
    extra = (args.reference,) if args.reference else ()
    est = loaders.estimate(request, extra_bands=extra, network=make_network(args))
    if not est.items:
        raise no_data_for(request)
    src = request.get_source()
    print(f"{request.source}: {src.stac_url} ({', '.join(src.collections)})")
    print(est.describe())
    return 0
