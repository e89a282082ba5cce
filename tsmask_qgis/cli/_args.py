"""Arguments shared by subcommands: the request, the preset, the engine options."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

from tsmask_qgis.errors import ParameterError, TsmaskError

__all__ = [
    "add_engine",
    "add_request",
    "bad_arguments",
    "make_network",
    "make_request",
    "parse_length",
    "parse_overrides",
]


@contextlib.contextmanager
def bad_arguments() -> Iterator[None]:
    """A plain ``ValueError``/``TypeError`` raised while the arguments become a request
    or a job is a usage error (:class:`ParameterError`, exit 2) in every command."""
    try:
        yield
    except TsmaskError:
        raise
    except (ValueError, TypeError) as exc:
        raise ParameterError(str(exc)) from exc


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def add_request(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """--bbox, --start, --end, --source and the catalogue options."""
    from tsmask_qgis.loaders import DEFAULT_SOURCE, source_names

    g = parser.add_argument_group("what to load from a catalogue")
    g.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        required=required,
        help="area in WGS84 degrees: west south east north",
    )
    g.add_argument("--start", type=_date, required=required, help="first date, YYYY-MM-DD")
    g.add_argument("--end", type=_date, required=required, help="last date (inclusive)")
    g.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        choices=source_names(),
        help=f"catalogue preset (default {DEFAULT_SOURCE}; see `tsmask sources`)",
    )
    g.add_argument("--resolution", type=float, default=20.0, help="pixel size in metres (20)")
    g.add_argument("--crs", help="output CRS, e.g. EPSG:32755 (default: UTM zone of the area)")
    g.add_argument(
        "--cloud-cover",
        type=float,
        metavar="PCT",
        help="skip scenes above this cloud cover. Off by default on purpose: the method "
        "needs the cloudy dates too to tell cloud from ground",
    )
    g.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="catalogue reads at once (default 32; more for a distant server, fewer for a "
        "slow link)",
    )
    g.add_argument("--stac-url", help="STAC API root URL (source 'custom')")
    g.add_argument("--collection", action="append", help="STAC collection id (repeatable)")
    g.add_argument(
        "--band",
        action="append",
        metavar="NAME=ASSET",
        help="band map override, e.g. nir=B8A (repeatable; names blue green red nir swir1 "
        "swir2 scl)",
    )


def make_network(args: argparse.Namespace) -> Any:
    """The loaders' ``NetworkOptions`` with ``--concurrency`` (if given) applied."""
    from tsmask_qgis import loaders

    return loaders.NETWORK.with_concurrency(args.concurrency)


def make_request(args: argparse.Namespace) -> Any:
    """A ``loaders.Request`` from the parsed arguments."""
    from tsmask_qgis.loaders import Request

    band_map: dict[str, str] = {}
    for item in args.band or ():
        name, sep, asset = item.partition("=")
        if not sep or not name or not asset:
            raise ParameterError(f"--band {item!r}: write NAME=ASSET, e.g. nir=B8A")
        band_map[name.strip()] = asset.strip()
    with bad_arguments():
        return Request(
            tuple(args.bbox),
            args.start,
            args.end,
            source=args.source,
            resolution=args.resolution,
            crs=args.crs,
            cloud_cover=args.cloud_cover,
            stac_url=args.stac_url,
            collections=tuple(args.collection) if args.collection else None,
            band_map=tuple(band_map.items()) or None,
        )


def _value(text: str) -> Any:
    text = text.strip()
    if "," in text:
        return tuple(int(v) for v in text.split(",") if v.strip())
    try:
        return int(text)
    except ValueError:
        return float(text)


#: Preset options whose values are words, not numbers (``--set thin_cloud=temporal``).
_WORD_VALUED = ("thin_cloud",)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["cloud_spike=0.5", "passes=1,1,2"]`` -> ``{"cloud_spike": 0.5, "passes": (1, 1, 2)}``."""
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r}: write NAME=VALUE, e.g. cloud_spike=0.5")
        if name.strip() in _WORD_VALUED:
            out[name.strip()] = value.strip()
            continue
        try:
            out[name.strip()] = _value(value)
        except ValueError:
            raise ParameterError(f"--set {item!r}: {value!r} is not a number") from None
    return out


_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(m|km|px)?\s*$")


def parse_length(text: str, option: str, pixel_m: Callable[[], float]) -> float:
    """Metres from ``60m``, ``60`` (metres), ``0.06km`` or ``3px`` (pixels of
    ``pixel_m()`` metres, asked only when needed); ParameterError naming ``option``."""
    m = _LENGTH.match(str(text))
    if not m:
        raise ParameterError(
            f"{option} {text!r}: write a distance like 60m, 0.06km or 3px (not negative)",
            field=option.lstrip("-").replace("-", "_") + "_m",
        )
    value, unit = float(m.group(1)), m.group(2) or "m"
    if unit == "km":
        return value * 1000.0
    if unit == "px":
        return value * pixel_m() if value else 0.0
    return value


def add_engine(parser: argparse.ArgumentParser) -> None:
    """--preset, --set, --no-spatial and the runner options."""
    from tsmask_qgis.engine import preset_names

    g = parser.add_argument_group("method")
    g.add_argument(
        "--preset",
        default="dea",
        choices=preset_names(),
        help="(default dea; seed is the notebook's method)",
    )
    g.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="override a threshold of the preset, e.g. --set cloud_spike=0.5 (repeatable; "
        "passes=1,1,2 for window sizes)",
    )
    g.add_argument(
        "--no-spatial",
        dest="spatial",
        action="store_false",
        help="skip the spatial steps (seed filter+buffer, dea majority)",
    )
    g.add_argument(
        "--thin-cloud",
        choices=("spectral", "temporal", "off"),
        help="seed's thin-cloud rule: spectral (the notebook's, default), temporal "
        "(confirmed against the clear dates around it) or off",
    )
    x = parser.add_argument_group("after the preset (docs/shadow_geometry.md)")
    x.add_argument(
        "--shadow-geometry",
        action="store_true",
        help="find cloud shadow from the sun's position (both presets; loads a margin "
        "around a catalogue area)",
    )
    x.add_argument(
        "--cloud-buffer",
        metavar="DIST",
        default="0",
        help="grow cloud by this distance: 60m, 0.06km or 3px (default 0: none)",
    )
    x.add_argument(
        "--shadow-buffer",
        metavar="DIST",
        default="0",
        help="grow shadow by this distance: 40m or 2px (default 0: none)",
    )
    r = parser.add_argument_group("compute")
    r.add_argument("--workers", type=int, help="threads or processes (default: all cores)")
    r.add_argument(
        "--runner",
        default="auto",
        choices=("auto", "threads", "processes", "dask"),
        help="how the engine runs (default auto)",
    )
    r.add_argument("--max-memory", metavar="SIZE", help="memory budget, e.g. 4GB")
    r.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address")
