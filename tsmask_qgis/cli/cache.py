"""``tsmask cache list|clear``: the local cache of loaded reflectance."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cache`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "cache",
        help="list or clear the cache of loaded reflectance",
        description="A second run on the same area and dates (another preset, other "
        "thresholds) reads the reflectance from this cache instead of the network.",
    )
    p.add_argument("action", choices=("list", "clear"))
    p.set_defaults(func=_cache)


def _cache(args: argparse.Namespace) -> int:
    from tsmask_qgis import loaders

    cache = getattr(loaders, "default_cache", None)
    if cache is None:
        raise RuntimeError("this build's loaders have no reflectance cache")
    c = cache()
    if args.action == "clear":
        n = c.clear()
        print(f"removed {n} cached load(s) from {c.root}")
        return 0
    entries = list(c.entries())
    for e in entries:
        print(e)
    print(f"{len(entries)} cached load(s) in {c.root}")
    return 0
