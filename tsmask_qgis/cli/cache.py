"""``tsmask cache list|clear``: the local cache of loaded reflectance."""

from __future__ import annotations

import argparse

from tsmask_qgis.errors import InputError, ParameterError

__all__ = ["register"]

EPILOG = """\
examples:
  tsmask cache list
  tsmask cache clear                 # remove every entry
  tsmask cache clear 393c38e6        # remove one entry (a key or a unique prefix of it)

The folder is $TSMASK_CACHE_DIR, else $XDG_CACHE_HOME/tsmask, else ~/.cache/tsmask.
Its size is limited by $TSMASK_CACHE_MAX_BYTES (default 20 GB): the least recently
used entries go first. `tsmask run --no-cache` neither reads nor writes it.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cache`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "cache",
        help="list or clear the cache of loaded reflectance",
        description="A second run on the same area, dates, source and grid (another "
        "preset, other thresholds) reads the reflectance from this cache instead of the "
        "network.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("list", "clear"), help="list the entries, or remove them")
    p.add_argument(
        "key", nargs="?", help="clear only this entry (its key, or a unique prefix of it)"
    )
    p.set_defaults(func=_cache)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _cache(args: argparse.Namespace) -> int:
    from tsmask_qgis.loaders import cache_dir, clear_cache, list_cache
    from tsmask_qgis.loaders._cache import max_bytes

    root = cache_dir()
    entries = list_cache()
    if args.action == "list":
        if args.key:
            raise ParameterError("`tsmask cache list` takes no key; use `tsmask cache clear KEY`")
        for e in entries:
            print(e.describe())
        total = sum(e.size_bytes for e in entries)
        print(f"{len(entries)} cached load(s), {_mb(total)} of {_mb(max_bytes())} in {root}")
        return 0
    if args.key:
        matching = [e for e in entries if e.key.startswith(args.key)]
        if not matching:
            raise InputError(
                f"no cache entry starts with {args.key!r}; see `tsmask cache list` for the keys"
            )
        if len(matching) > 1:
            raise InputError(
                f"{len(matching)} cache entries start with {args.key!r}; give more of the key"
            )
        freed = clear_cache(key=matching[0].key)
        print(f"removed cache entry {matching[0].key}: {_mb(freed)} freed in {root}")
        return 0
    freed = clear_cache()
    print(f"removed {len(entries)} cached load(s): {_mb(freed)} freed in {root}")
    return 0
