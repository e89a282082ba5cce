"""``tsmask sources``: the catalogue presets and their band maps."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sources`` to the ``tsmask`` parser."""
    p = subparsers.add_parser(
        "sources",
        help="list catalogue presets and their band maps",
        description="The catalogue presets --source accepts, their STAC API, collections "
        "and which asset each tsmask band is read from; and the method presets.",
    )
    p.set_defaults(func=_sources)


def _sources(args: argparse.Namespace) -> int:
    from tsmask_qgis.bands import BANDS
    from tsmask_qgis.engine import get_preset, preset_names
    from tsmask_qgis.loaders import DEFAULT_SOURCE, SOURCES

    for name, src in SOURCES.items():
        default = " (default)" if name == DEFAULT_SOURCE else ""
        print(f"{name}{default}: {src.title}")
        print(f"  STAC API    {src.stac_url or '(give --stac-url)'}")
        print(f"  collections {', '.join(src.collections) or '(give --collection)'}")
        bands = src.bands
        pairs = [f"{b}={bands.get(b, '?')}" for b in BANDS]
        if src.reference:
            pairs.append(f"{src.reference_kind or 'reference'}={src.reference}")
        print(f"  bands       {' '.join(pairs)}")
    print("\nmethod presets (--preset; override thresholds with --set NAME=VALUE):")
    for name in preset_names():
        p = get_preset(name)
        print(
            f"  {name:<5} cloud_spike={p.cloud_spike} shadow_spike={p.shadow_spike} "
            f"cloud_floor={p.cloud_floor} passes={','.join(map(str, p.passes))}"
        )
    return 0
