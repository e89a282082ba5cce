"""``tsmask estimate``: what a request would read, before anything is downloaded."""

from __future__ import annotations

import argparse
import dataclasses

from tsmask_qgis.cli._args import add_request, make_request

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``estimate`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "estimate",
        help="items, dates, pixels, bytes and time a request would need",
        description="Search the catalogue and estimate the data to read, the memory and "
        "the time, without downloading pixels.",
        epilog="example:\n  tsmask estimate --bbox 149.055 -35.344 149.155 -35.244 "
        "--start 2017-01-01 --end 2018-12-31",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_request(p, required=True)
    p.set_defaults(func=_estimate)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"


def _estimate(args: argparse.Namespace) -> int:
    from tsmask_qgis import loaders
    from tsmask_qgis.pipeline import NoDataError, SourceUnreachableError, _is_network

    request = make_request(args)
    try:
        est = loaders.estimate(request)
    except Exception as exc:
        if _is_network(exc) or type(exc).__name__ == "SearchError":
            raise SourceUnreachableError(str(exc)) from exc
        raise
    fields = dataclasses.asdict(est) if dataclasses.is_dataclass(est) else vars(est)
    if not fields.get("items"):
        raise NoDataError(f"no acquisitions found for {request.source} in that area and dates")
    for key, value in fields.items():
        if isinstance(value, (int, float)) and ("bytes" in key or "memory" in key):
            value = _human(value)
        print(f"{key:<16} {value}")
    return 0
